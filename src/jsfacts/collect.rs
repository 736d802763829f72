//! The walk over one parsed action that fills [`ActionFacts`]; it owns the chain, alias and
//! truthiness-guard bookkeeping and must stay free of judgements about what is allowed.

use std::collections::HashMap;

use oxc_ast::ast::{
    Argument, ArrowFunctionBody, ArrowFunctionExpression, AssignmentTarget, BinaryExpression,
    BinaryOperator, BindingPattern, CallExpression, ChainElement, ConditionalExpression,
    Expression, FormalParameters, Function, FunctionBody, IdentifierReference, IfStatement,
    LogicalExpression, LogicalOperator, MemberExpression, ObjectExpression, ObjectPattern,
    ObjectPropertyKind, Program, PropertyKey, Statement, UnaryOperator, VariableDeclarator,
};
use oxc_ast_visit::{Visit, walk};

use super::{
    ActionFacts, ApiCall, EventRead, FetchCallee, FetchUrl, Handler, Require, SecretRead,
    SecretSource, StateWrite,
};
use crate::catalog::api::Trigger;
use crate::span::Span;

/// Walks `program` and returns every fact but the syntax errors.
pub(super) fn collect(program: &Program<'_>) -> ActionFacts {
    let found = find_handler(program);
    let mut collector = Collector {
        facts: ActionFacts::default(),
        handler_body: found.as_ref().and_then(|found| found.body_span),
        handler_params: found.as_ref().and_then(|found| found.params),
        handler_event: found
            .as_ref()
            .and_then(|found| found.handler.event_param.clone()),
        handler_api: found
            .as_ref()
            .and_then(|found| found.handler.api_param.clone()),
        in_handler: false,
        aliases: HashMap::new(),
        guards: Vec::new(),
    };
    collector.facts.handler = found.map(|found| found.handler);
    collector.visit_program(program);
    collector.facts
}

fn span(span: oxc_span::Span) -> Span {
    Span::new(span.start as usize, span.end as usize)
}

/// The handler plus what the walk needs to recognise its body and parameters.
struct FoundHandler<'s, 'a> {
    handler: Handler,
    body_span: Option<oxc_span::Span>,
    params: Option<&'s FormalParameters<'a>>,
}

/// The function an export points at, whichever syntax declared it.
struct FunctionParts<'s, 'a> {
    span: oxc_span::Span,
    body_span: Option<oxc_span::Span>,
    params: &'s FormalParameters<'a>,
}

fn find_handler<'s, 'a>(program: &'s Program<'a>) -> Option<FoundHandler<'s, 'a>> {
    for statement in &program.body {
        let Statement::ExpressionStatement(statement) = statement else {
            continue;
        };
        let Expression::AssignmentExpression(assignment) = strip_parens(&statement.expression)
        else {
            continue;
        };
        if let AssignmentTarget::StaticMemberExpression(target) = &assignment.left {
            let Some(kind) = Trigger::from_export(target.property.name.as_str()) else {
                // `module.exports = { handler: … }` names the handler as a key.
                if target.property.name == "exports"
                    && is_identifier(&target.object, "module")
                    && let Expression::ObjectExpression(object) = strip_parens(&assignment.right)
                    && let Some(found) = handler_in_object(program, object)
                {
                    return Some(found);
                }
                continue;
            };
            let object = strip_parens(&target.object);
            let exported = is_identifier(object, "exports")
                || matches!(object, Expression::StaticMemberExpression(inner)
                    if inner.property.name == "exports" && is_identifier(&inner.object, "module"));
            if exported {
                return Some(found_handler(
                    program,
                    kind,
                    span(target.span),
                    &assignment.right,
                ));
            }
        }
    }
    None
}

fn handler_in_object<'s, 'a>(
    program: &'s Program<'a>,
    object: &'s ObjectExpression<'a>,
) -> Option<FoundHandler<'s, 'a>> {
    object.properties.iter().find_map(|property| {
        let ObjectPropertyKind::ObjectProperty(property) = property else {
            return None;
        };
        let kind = Trigger::from_export(&property_key_name(&property.key)?)?;
        Some(found_handler(
            program,
            kind,
            span(oxc_span::GetSpan::span(&property.key)),
            &property.value,
        ))
    })
}

fn found_handler<'s, 'a>(
    program: &'s Program<'a>,
    kind: Trigger,
    target: Span,
    value: &'s Expression<'a>,
) -> FoundHandler<'s, 'a> {
    let parts = function_parts(value).or_else(|| match strip_parens(value) {
        Expression::Identifier(name) => top_level_function(program, name.name.as_str()),
        _ => None,
    });
    let param_name = |index: usize| {
        parts
            .as_ref()?
            .params
            .items
            .get(index)
            .and_then(|param| match &param.pattern {
                BindingPattern::BindingIdentifier(id) => Some(id.name.to_string()),
                _ => None,
            })
    };
    FoundHandler {
        handler: Handler {
            kind,
            span: target,
            function_span: parts.as_ref().map(|parts| span(parts.span)),
            event_param: param_name(0),
            api_param: param_name(1),
        },
        body_span: parts.as_ref().and_then(|parts| parts.body_span),
        params: parts.map(|parts| parts.params),
    }
}

fn function_parts<'s, 'a>(value: &'s Expression<'a>) -> Option<FunctionParts<'s, 'a>> {
    match strip_parens(value) {
        Expression::FunctionExpression(function) => Some(parts_of_function(function)),
        Expression::ArrowFunctionExpression(arrow) => Some(parts_of_arrow(arrow)),
        _ => None,
    }
}

fn parts_of_function<'s, 'a>(function: &'s Function<'a>) -> FunctionParts<'s, 'a> {
    FunctionParts {
        span: function.span,
        body_span: function.body.as_ref().map(|body| body.span),
        params: &function.params,
    }
}

fn parts_of_arrow<'s, 'a>(arrow: &'s ArrowFunctionExpression<'a>) -> FunctionParts<'s, 'a> {
    FunctionParts {
        span: arrow.span,
        body_span: Some(oxc_span::GetSpan::span(&arrow.body)),
        params: &arrow.params,
    }
}

/// `exports.handler = logUser` with `function logUser(…)` or `const logUser = …` at top level.
fn top_level_function<'s, 'a>(
    program: &'s Program<'a>,
    name: &str,
) -> Option<FunctionParts<'s, 'a>> {
    program.body.iter().find_map(|statement| match statement {
        Statement::FunctionDeclaration(function)
            if function.id.as_ref().is_some_and(|id| id.name == name) =>
        {
            Some(parts_of_function(function))
        }
        Statement::VariableDeclaration(declaration) => {
            declaration
                .declarations
                .iter()
                .find_map(|declarator| match &declarator.id {
                    BindingPattern::BindingIdentifier(id) if id.name == name => {
                        function_parts(declarator.init.as_ref()?)
                    }
                    _ => None,
                })
        }
        _ => None,
    })
}

fn strip_parens<'s, 'a>(mut expression: &'s Expression<'a>) -> &'s Expression<'a> {
    while let Expression::ParenthesizedExpression(inner) = expression {
        expression = &inner.expression;
    }
    expression
}

fn is_identifier(expression: &Expression<'_>, name: &str) -> bool {
    matches!(strip_parens(expression), Expression::Identifier(id) if id.name == name)
}

/// The text of a string literal or of a template literal without substitutions.
fn static_str<'s>(expression: &'s Expression<'_>) -> Option<&'s str> {
    match strip_parens(expression) {
        Expression::StringLiteral(literal) => Some(literal.value.as_str()),
        Expression::TemplateLiteral(template) if template.expressions.is_empty() => template
            .quasis
            .first()?
            .value
            .cooked
            .as_ref()
            .map(|cooked| cooked.as_str()),
        _ => None,
    }
}

fn static_string(expression: &Expression<'_>) -> Option<String> {
    static_str(expression).map(str::to_string)
}

/// The static text a string-building expression is known to start with.
fn static_prefix(expression: &Expression<'_>) -> Option<String> {
    let prefix = match strip_parens(expression) {
        Expression::TemplateLiteral(template) if !template.expressions.is_empty() => template
            .quasis
            .first()?
            .value
            .cooked
            .as_ref()
            .map(ToString::to_string),
        Expression::BinaryExpression(binary) if binary.operator == BinaryOperator::Addition => {
            static_string(&binary.left).or_else(|| static_prefix(&binary.left))
        }
        _ => None,
    };
    prefix.filter(|prefix| !prefix.is_empty())
}

fn property_key_name(key: &PropertyKey<'_>) -> Option<String> {
    match key {
        PropertyKey::StaticIdentifier(name) => Some(name.name.to_string()),
        PropertyKey::PrivateIdentifier(_) => None,
        _ => static_string(key.as_expression()?),
    }
}

/// One link of a member/call chain, outermost last after [`flatten`].
enum Link<'s, 'a> {
    /// `.name`, `["name"]`, or a dynamic member (`name == None`) whose key, if any, the walk
    /// must still visit.
    Member {
        name: Option<&'s str>,
        optional: bool,
        span: oxc_span::Span,
        key: Option<&'s Expression<'a>>,
    },
    Call(&'s CallExpression<'a>),
}

/// What a chain hangs from.
enum Root<'s, 'a> {
    Identifier(&'s IdentifierReference<'a>),
    Other(&'s Expression<'a>),
}

struct Chain<'s, 'a> {
    root: Root<'s, 'a>,
    links: Vec<Link<'s, 'a>>,
}

impl Chain<'_, '_> {
    fn root_name(&self) -> Option<&str> {
        match &self.root {
            Root::Identifier(id) => Some(id.name.as_str()),
            Root::Other(_) => None,
        }
    }

    fn root_start(&self) -> u32 {
        match &self.root {
            Root::Identifier(id) => id.span.start,
            Root::Other(expression) => oxc_span::GetSpan::span(*expression).start,
        }
    }

    /// The names of the leading static members, stopping at the first dynamic member or call.
    fn static_names(&self) -> Vec<&str> {
        self.links
            .iter()
            .map_while(|link| match link {
                Link::Member {
                    name: Some(name), ..
                } => Some(*name),
                _ => None,
            })
            .collect()
    }

    /// The call that directly follows the leading static members, if one does.
    fn call_after_static(&self) -> Option<&CallExpression<'_>> {
        match self.links.get(self.static_names().len()) {
            Some(Link::Call(call)) => Some(call),
            _ => None,
        }
    }

    fn first_call_argument(&self) -> Option<&Expression<'_>> {
        self.call_after_static()?.arguments.first()?.as_expression()
    }
}

fn member_link<'s, 'a>(
    property: Option<&'s str>,
    optional: bool,
    span: oxc_span::Span,
    key: Option<&'s Expression<'a>>,
) -> Link<'s, 'a> {
    Link::Member {
        name: property,
        optional,
        span,
        key,
    }
}

/// Records one member access as a link and returns the object it reads from.
fn push_member<'s, 'a>(
    links: &mut Vec<Link<'s, 'a>>,
    member: &'s MemberExpression<'a>,
) -> &'s Expression<'a> {
    match member {
        MemberExpression::StaticMemberExpression(m) => {
            links.push(member_link(
                Some(m.property.name.as_str()),
                m.optional,
                m.span,
                None,
            ));
            &m.object
        }
        MemberExpression::ComputedMemberExpression(m) => {
            links.push(member_link(
                static_str(&m.expression),
                m.optional,
                m.span,
                Some(&m.expression),
            ));
            &m.object
        }
        MemberExpression::PrivateFieldExpression(m) => {
            links.push(member_link(None, m.optional, m.span, None));
            &m.object
        }
    }
}

/// Unwinds `a.b?.["c"](d).e` into its root and links, without recursion.
fn flatten<'s, 'a>(mut expression: &'s Expression<'a>) -> Chain<'s, 'a> {
    let mut links = Vec::new();
    let root = loop {
        match expression {
            Expression::ParenthesizedExpression(inner) => expression = &inner.expression,
            Expression::CallExpression(call) => {
                links.push(Link::Call(call));
                expression = &call.callee;
            }
            Expression::ChainExpression(chain) => match &chain.expression {
                ChainElement::CallExpression(call) => {
                    links.push(Link::Call(call));
                    expression = &call.callee;
                }
                ChainElement::TSNonNullExpression(inner) => expression = &inner.expression,
                element => match element.as_member_expression() {
                    Some(member) => expression = push_member(&mut links, member),
                    None => break Root::Other(expression),
                },
            },
            Expression::TSNonNullExpression(inner) => expression = &inner.expression,
            Expression::Identifier(id) => break Root::Identifier(id),
            other => match other.as_member_expression() {
                Some(member) => expression = push_member(&mut links, member),
                None => break Root::Other(other),
            },
        }
    };
    links.reverse();
    Chain { root, links }
}

/// A resolved read of the event object.
struct Resolved {
    path: Vec<String>,
    span: Span,
    guarded: bool,
    via_alias: bool,
}

/// How a name maps onto the event object: `event` itself has an empty path.
#[derive(Clone)]
struct Alias {
    path: Vec<String>,
    via_alias: bool,
}

struct Collector<'s, 'a> {
    facts: ActionFacts,
    handler_body: Option<oxc_span::Span>,
    handler_params: Option<&'s FormalParameters<'a>>,
    handler_event: Option<String>,
    handler_api: Option<String>,
    in_handler: bool,
    /// Local names bound to a part of the event object. Scopes are not modelled: a later
    /// binding of the same name elsewhere replaces the earlier one.
    aliases: HashMap<String, Vec<String>>,
    /// Paths proven truthy by the enclosing tests, innermost last.
    guards: Vec<Vec<String>>,
}

impl<'s, 'a> Collector<'s, 'a> {
    fn event_root(&self, name: &str) -> Option<Alias> {
        if name == "event" || (self.in_handler && self.handler_event.as_deref() == Some(name)) {
            return Some(Alias {
                path: Vec::new(),
                via_alias: false,
            });
        }
        self.aliases.get(name).map(|path| Alias {
            path: path.clone(),
            via_alias: true,
        })
    }

    fn is_api_root(&self, name: &str) -> bool {
        name == "api" || (self.in_handler && self.handler_api.as_deref() == Some(name))
    }

    fn is_guarded_by_test(&self, top: &str) -> bool {
        self.guards
            .iter()
            .any(|guard| guard.first().is_some_and(|first| first == top))
    }

    /// The event read a chain makes, if it hangs from the event object.
    fn resolve(&self, chain: &Chain<'_, '_>) -> Option<Resolved> {
        let alias = self.event_root(chain.root_name()?)?;
        let names = chain.static_names();
        let mut own = names.len();
        // A method call's name is not a field: `event.user.email.trim()` reads `user.email`.
        if own > 0 && chain.call_after_static().is_some() {
            own -= 1;
        }
        if own == 0 {
            return None;
        }
        let mut path = alias.path.clone();
        path.extend(names[..own].iter().map(|name| (*name).to_string()));
        let end = match &chain.links[own - 1] {
            Link::Member { span, .. } => span.end,
            Link::Call(call) => call.span.end,
        };
        // The member read from `event.<path[0]>` sits at index 1 of the full path; with an
        // alias of depth two or more that read happened where the alias was bound.
        let optionals: Vec<bool> = chain
            .links
            .iter()
            .map_while(|link| match link {
                Link::Member { optional, .. } => Some(*optional),
                Link::Call(_) => None,
            })
            .collect();
        let structural = match 1usize.checked_sub(alias.path.len()) {
            None => true,
            Some(index) => optionals.get(index).copied().unwrap_or(true),
        };
        let guarded = structural || self.is_guarded_by_test(&path[0]);
        Some(Resolved {
            path,
            span: Span::new(chain.root_start() as usize, end as usize),
            guarded,
            via_alias: alias.via_alias,
        })
    }

    /// Records every fact one outermost chain carries.
    fn record_chain(&mut self, chain: &Chain<'_, '_>) {
        let Some(root) = chain.root_name() else {
            return;
        };
        let interesting = matches!(root, "event" | "api" | "actions" | "fetch" | "require")
            || (self.in_handler
                && (self.handler_event.as_deref() == Some(root)
                    || self.handler_api.as_deref() == Some(root)))
            || self.aliases.contains_key(root);
        if !interesting {
            return;
        }
        if let Some(read) = self.resolve(chain) {
            if read.path.len() >= 2 && read.path[0] == "secrets" {
                self.facts.secret_reads.push(SecretRead {
                    name: read.path[1].clone(),
                    span: read.span,
                    via: SecretSource::EventSecrets,
                });
            }
            self.facts.event_reads.push(EventRead {
                path: read.path,
                span: read.span,
                guarded: read.guarded,
                via_alias: read.via_alias,
            });
            return;
        }
        let Some(root) = chain.root_name() else {
            return;
        };
        let names = chain.static_names();
        if self.is_api_root(root) {
            self.record_api_call(chain, &names);
        } else if root == "actions" && names.len() >= 2 && names[0] == "secrets" {
            let end = match &chain.links[1] {
                Link::Member { span, .. } => span.end,
                Link::Call(call) => call.span.end,
            };
            self.facts.secret_reads.push(SecretRead {
                name: names[1].to_string(),
                span: Span::new(chain.root_start() as usize, end as usize),
                via: SecretSource::ActionsSecrets,
            });
        } else if let (true, Some(call)) = (names.is_empty(), chain.call_after_static()) {
            if root == "fetch" {
                self.record_fetch(call, FetchCallee::Global);
            } else if root == "require" {
                self.facts.requires.push(Require {
                    specifier: chain.first_call_argument().and_then(static_string),
                    span: span(call.span),
                });
            }
        }
    }

    fn record_api_call(&mut self, chain: &Chain<'_, '_>, names: &[&str]) {
        let Some(call) = chain.call_after_static() else {
            return;
        };
        if names.is_empty() {
            return;
        }
        let method = names.join(".");
        let first = chain.first_call_argument();
        match method.as_str() {
            "state.set" => self.facts.state_writes.push(StateWrite {
                key: first.and_then(static_string),
                span: span(call.span),
                key_span: first.map(|key| span(oxc_span::GetSpan::span(key))),
            }),
            "log" => {
                if let Some(level) = first.and_then(|first| {
                    static_string(first).map(|level| (level, span(oxc_span::GetSpan::span(first))))
                }) {
                    self.facts.log_levels.push(level);
                }
            }
            "fetch" => self.record_fetch(call, FetchCallee::Api),
            _ => {}
        }
        self.facts.api_calls.push(ApiCall {
            method,
            span: span(call.span),
        });
    }

    fn record_fetch(&mut self, call: &CallExpression<'_>, callee: FetchCallee) {
        let first = call.arguments.first().and_then(Argument::as_expression);
        self.facts.fetch_urls.push(FetchUrl {
            url: first.and_then(static_string),
            prefix: first.and_then(static_prefix),
            span: span(first.map_or(call.span, oxc_span::GetSpan::span)),
            callee,
        });
    }

    /// Visits the parts of a chain that are not links: computed keys, call arguments and a
    /// non-identifier root.
    fn visit_chain_children(&mut self, chain: &Chain<'_, 'a>) {
        if let Root::Other(expression) = chain.root {
            self.visit_expression(expression);
        }
        for link in &chain.links {
            match link {
                Link::Member { key: Some(key), .. } => self.visit_expression(key),
                Link::Member { key: None, .. } => {}
                Link::Call(call) => {
                    for argument in &call.arguments {
                        self.visit_argument(argument);
                    }
                }
            }
        }
    }

    /// The event paths that `test` being truthy (or falsy) proves truthy.
    fn proven(&self, test: &Expression<'_>, truthy: bool, out: &mut Vec<Vec<String>>) {
        let mut pending = vec![(test, truthy)];
        while let Some((test, truthy)) = pending.pop() {
            match strip_parens(test) {
                Expression::UnaryExpression(unary)
                    if unary.operator == UnaryOperator::LogicalNot =>
                {
                    pending.push((&unary.argument, !truthy));
                }
                Expression::LogicalExpression(logical) => match (logical.operator, truthy) {
                    (LogicalOperator::And, true) | (LogicalOperator::Or, false) => {
                        pending.push((&logical.left, truthy));
                        pending.push((&logical.right, truthy));
                    }
                    _ => {}
                },
                Expression::BinaryExpression(binary) => {
                    if let Some(operand) = defined_operand(binary, truthy) {
                        self.push_path(operand, out);
                    }
                }
                other if truthy => self.push_path(other, out),
                _ => {}
            }
        }
    }

    fn push_path(&self, expression: &Expression<'_>, out: &mut Vec<Vec<String>>) {
        let chain = flatten(expression);
        let Some(name) = chain.root_name() else {
            return;
        };
        let Some(alias) = self.event_root(name) else {
            return;
        };
        let mut path = alias.path;
        path.extend(chain.static_names().iter().map(|name| (*name).to_string()));
        if !path.is_empty() {
            out.push(path);
        }
    }

    fn visit_guarded(
        &mut self,
        test: &Expression<'_>,
        truthy: bool,
        visit: impl FnOnce(&mut Self),
    ) {
        let depth = self.guards.len();
        let mut proven = Vec::new();
        self.proven(test, truthy, &mut proven);
        self.guards.extend(proven);
        visit(self);
        self.guards.truncate(depth);
    }

    /// Runs `visit` over a function body, switching to the handler's parameter names when the
    /// body is the handler's. Arrow bodies are seen twice (as arrow body and function body), so
    /// the parameter destructuring is recorded only on the first entry.
    fn in_body_of(&mut self, body: oxc_span::Span, visit: impl FnOnce(&mut Self)) {
        if Some(body) != self.handler_body || self.in_handler {
            visit(self);
            return;
        }
        self.in_handler = true;
        if let Some(params) = self.handler_params
            && let Some(BindingPattern::ObjectPattern(pattern)) =
                params.items.first().map(|param| &param.pattern)
        {
            self.destructure(pattern, &[], false);
        }
        visit(self);
        self.in_handler = false;
    }

    /// Records the reads a destructuring pattern makes from the event path `base`, and binds
    /// its names as aliases. `defaulted` says the value being destructured has a default.
    fn destructure(&mut self, pattern: &ObjectPattern<'_>, base: &[String], defaulted: bool) {
        let guarded = base.is_empty()
            || defaulted
            || base.first().is_some_and(|top| self.is_guarded_by_test(top));
        for property in &pattern.properties {
            let Some(key) = property_key_name(&property.key) else {
                continue;
            };
            let mut path = base.to_vec();
            path.push(key);
            if path.len() >= 2 && path[0] == "secrets" {
                self.facts.secret_reads.push(SecretRead {
                    name: path[1].clone(),
                    span: span(property.span),
                    via: SecretSource::EventSecrets,
                });
            }
            self.facts.event_reads.push(EventRead {
                path: path.clone(),
                span: span(property.span),
                guarded,
                via_alias: false,
            });
            self.bind(&property.value, path, false);
        }
    }

    fn bind(&mut self, pattern: &BindingPattern<'_>, path: Vec<String>, defaulted: bool) {
        match pattern {
            BindingPattern::BindingIdentifier(id) => {
                self.aliases.insert(id.name.to_string(), path);
            }
            BindingPattern::ObjectPattern(object) => self.destructure(object, &path, defaulted),
            BindingPattern::AssignmentPattern(assignment) => {
                self.bind(&assignment.left, path, true)
            }
            BindingPattern::ArrayPattern(_) => {}
        }
    }
}

/// For `x != null`, `x !== undefined`, `typeof x !== "undefined"`, `x === "literal"` and their
/// negations: the operand proven defined when the comparison has truth value `truthy`.
fn defined_operand<'s, 'a>(
    binary: &'s BinaryExpression<'a>,
    truthy: bool,
) -> Option<&'s Expression<'a>> {
    let (left, right) = (strip_parens(&binary.left), strip_parens(&binary.right));
    let (operand, other) = if is_nullish_literal(right) || is_literal(right) {
        (left, right)
    } else {
        (right, left)
    };
    let (operand, other_is_undefined_name) = match operand {
        Expression::UnaryExpression(unary) if unary.operator == UnaryOperator::Typeof => (
            &unary.argument,
            static_string(other).as_deref() == Some("undefined"),
        ),
        _ => (operand, false),
    };
    let nullish = is_nullish_literal(other) || other_is_undefined_name;
    let equality = matches!(
        binary.operator,
        BinaryOperator::Equality | BinaryOperator::StrictEquality
    );
    let inequality = matches!(
        binary.operator,
        BinaryOperator::Inequality | BinaryOperator::StrictInequality
    );
    let proves = if nullish {
        (inequality && truthy) || (equality && !truthy)
    } else {
        is_literal(other) && equality && truthy
    };
    proves.then_some(operand)
}

fn is_nullish_literal(expression: &Expression<'_>) -> bool {
    matches!(expression, Expression::NullLiteral(_))
        || matches!(expression, Expression::Identifier(id) if id.name == "undefined")
}

fn is_literal(expression: &Expression<'_>) -> bool {
    matches!(
        expression,
        Expression::StringLiteral(_)
            | Expression::NumericLiteral(_)
            | Expression::BooleanLiteral(_)
            | Expression::TemplateLiteral(_)
    )
}

/// Whether control never falls out of `statement`.
fn always_exits(statement: &Statement<'_>) -> bool {
    match statement {
        Statement::ReturnStatement(_)
        | Statement::ThrowStatement(_)
        | Statement::BreakStatement(_)
        | Statement::ContinueStatement(_) => true,
        Statement::BlockStatement(block) => block.body.last().is_some_and(always_exits),
        Statement::IfStatement(branch) => {
            always_exits(&branch.consequent) && branch.alternate.as_ref().is_some_and(always_exits)
        }
        _ => false,
    }
}

impl<'s, 'a> Visit<'a> for Collector<'s, 'a> {
    fn visit_expression(&mut self, expression: &Expression<'a>) {
        match expression {
            Expression::StaticMemberExpression(_)
            | Expression::ComputedMemberExpression(_)
            | Expression::PrivateFieldExpression(_)
            | Expression::CallExpression(_)
            | Expression::ChainExpression(_) => {
                let chain = flatten(expression);
                self.record_chain(&chain);
                self.visit_chain_children(&chain);
            }
            _ => walk::walk_expression(self, expression),
        }
    }

    fn visit_function_body(&mut self, body: &FunctionBody<'a>) {
        self.in_body_of(body.span, |this| walk::walk_function_body(this, body));
    }

    fn visit_arrow_function_body(&mut self, body: &ArrowFunctionBody<'a>) {
        let body_span = oxc_span::GetSpan::span(body);
        self.in_body_of(body_span, |this| walk::walk_arrow_function_body(this, body));
    }

    fn visit_variable_declarator(&mut self, declarator: &VariableDeclarator<'a>) {
        walk::walk_variable_declarator(self, declarator);
        let Some(init) = &declarator.init else { return };
        // `const { user } = event.x ?? {}` destructures with a default.
        let (init, defaulted) = match strip_parens(init) {
            Expression::LogicalExpression(logical)
                if matches!(
                    logical.operator,
                    LogicalOperator::Coalesce | LogicalOperator::Or
                ) =>
            {
                (&logical.left, true)
            }
            other => (other, false),
        };
        let chain = flatten(init);
        if chain
            .links
            .iter()
            .any(|link| !matches!(link, Link::Member { name: Some(_), .. }))
        {
            return;
        }
        let Some(alias) = chain.root_name().and_then(|name| self.event_root(name)) else {
            return;
        };
        let mut path = alias.path;
        path.extend(chain.static_names().iter().map(|name| (*name).to_string()));
        match &declarator.id {
            BindingPattern::ObjectPattern(pattern) => self.destructure(pattern, &path, defaulted),
            BindingPattern::BindingIdentifier(_) if !path.is_empty() && !defaulted => {
                self.bind(&declarator.id, path, false);
            }
            _ => {}
        }
    }

    fn visit_if_statement(&mut self, statement: &IfStatement<'a>) {
        self.visit_expression(&statement.test);
        self.visit_guarded(&statement.test, true, |this| {
            this.visit_statement(&statement.consequent)
        });
        if let Some(alternate) = &statement.alternate {
            self.visit_guarded(&statement.test, false, |this| {
                this.visit_statement(alternate)
            });
        }
    }

    fn visit_logical_expression(&mut self, expression: &LogicalExpression<'a>) {
        self.visit_expression(&expression.left);
        let truthy = match expression.operator {
            LogicalOperator::And => true,
            LogicalOperator::Or => false,
            LogicalOperator::Coalesce => {
                self.visit_expression(&expression.right);
                return;
            }
        };
        self.visit_guarded(&expression.left, truthy, |this| {
            this.visit_expression(&expression.right)
        });
    }

    fn visit_conditional_expression(&mut self, expression: &ConditionalExpression<'a>) {
        self.visit_expression(&expression.test);
        self.visit_guarded(&expression.test, true, |this| {
            this.visit_expression(&expression.consequent)
        });
        self.visit_guarded(&expression.test, false, |this| {
            this.visit_expression(&expression.alternate)
        });
    }

    fn visit_statements(&mut self, statements: &oxc_allocator::Vec<'a, Statement<'a>>) {
        let depth = self.guards.len();
        for statement in statements {
            self.visit_statement(statement);
            // `if (!event.user) return;` proves `event.user` for the rest of the block.
            if let Statement::IfStatement(branch) = statement {
                let mut proven = Vec::new();
                if always_exits(&branch.consequent) {
                    self.proven(&branch.test, false, &mut proven);
                } else if branch.alternate.as_ref().is_some_and(always_exits) {
                    self.proven(&branch.test, true, &mut proven);
                }
                self.guards.extend(proven);
            }
        }
        self.guards.truncate(depth);
    }
}
