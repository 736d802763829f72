//! Safe code generation: lowers a checked condition tree to cranelift IR over the ABI of
//! `abi` (slots in, one byte out, helpers for everything that is not inline arithmetic).

use super::abi::{
    BinaryHelper, SLOT_SIZE, Slot, TAG_BOOL, TAG_NULL, TAG_NUMBER, TAG_STRING, af_bytes_eq,
    af_contains, af_ends_with, af_equal, af_greater, af_greater_equal, af_len, af_less,
    af_less_equal, af_lookup, af_lower, af_lower_affix, af_member, af_starts_with,
};
use crate::expr::ast::FieldPath;
use crate::expr::check::{CompareOp, Const, Function, Node};
use crate::expr::interp::{Val, eval_node, lower_affix_call, semantics};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    self, AbiParam, BlockArg, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind, types,
};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::JITModule;
use cranelift_module::{Linkage, Module};
use serde_json::Value;
use std::borrow::Cow;
use std::sync::OnceLock;

/// True when the code for `node` may call `af_lower` (a `lower` not fused into an affix test).
pub(super) fn calls_lower(node: &Node) -> bool {
    match node {
        Node::Const(_) | Node::Slot(_) => false,
        Node::Not(a) => calls_lower(a),
        Node::And(a, b) | Node::Or(a, b) | Node::Compare(_, a, b) | Node::In(a, b) => {
            calls_lower(a) || calls_lower(b)
        }
        Node::Call(function, args) => match lower_affix_call(*function, args) {
            Some((text, affix, _)) => calls_lower(text) || calls_lower(affix),
            None => *function == Function::Lower || args.iter().any(calls_lower),
        },
    }
}

/// Counts how often each field index is read by non-constant code.
fn count_reads(node: &Node, counts: &mut [u32]) {
    match node {
        Node::Const(_) => {}
        Node::Slot(index) => {
            if let Some(count) = counts.get_mut(*index) {
                *count = count.saturating_add(1);
            }
        }
        Node::Not(a) => count_reads(a, counts),
        Node::And(a, b) | Node::Or(a, b) | Node::Compare(_, a, b) | Node::In(a, b) => {
            count_reads(a, counts);
            count_reads(b, counts);
        }
        Node::Call(_, args) => args.iter().for_each(|arg| count_reads(arg, counts)),
    }
}

pub(super) fn host_isa() -> Result<OwnedTargetIsa, String> {
    static ISA: OnceLock<Result<OwnedTargetIsa, String>> = OnceLock::new();
    ISA.get_or_init(|| {
        let mut flags = settings::builder();
        for (name, value) in [
            ("use_colocated_libcalls", "false"),
            ("is_pic", "false"),
            ("opt_level", "speed"),
        ] {
            flags
                .set(name, value)
                .map_err(|error| format!("cranelift flag {name}: {error}"))?;
        }
        let builder = cranelift_native::builder()
            .map_err(|error| format!("host not supported by cranelift: {error}"))?;
        builder
            .finish(settings::Flags::new(flags))
            .map_err(|error| format!("cranelift ISA: {error}"))
    })
    .clone()
}

pub(super) fn generate(
    module: &mut JITModule,
    root: &Node,
    paths: &[FieldPath],
) -> Result<(*const u8, *const u8), String> {
    let ptr = module.target_config().pointer_type();
    let mut ctx = module.make_context();
    ctx.func.signature.params.push(AbiParam::new(ptr));
    ctx.func.signature.params.push(AbiParam::new(ptr));
    ctx.func.signature.returns.push(AbiParam::new(types::I8));
    let mut builder_ctx = FunctionBuilderContext::new();
    let mut ids = Vec::with_capacity(2);
    for (name, from_root) in [("from_slots", false), ("from_root", true)] {
        let id = module
            .declare_function(name, Linkage::Local, &ctx.func.signature)
            .map_err(|error| format!("declare {name}: {error}"))?;
        {
            let mut b = FunctionBuilder::new(&mut ctx.func, &mut builder_ctx);
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            let input = b.block_params(entry)[0];
            let arena = b.block_params(entry)[1];
            let source = if from_root {
                let mut counts = vec![0u32; paths.len()];
                count_reads(root, &mut counts);
                Source::Root {
                    root: input,
                    paths: paths.as_ptr(),
                    path_count: paths.len(),
                    eager: vec![None; paths.len()],
                }
                .with_eager(&counts)
            } else {
                Source::Slots(input)
            };
            let mut g = Gen {
                b,
                source,
                arena,
                ptr,
                sigs: None,
            };
            g.load_eager();
            let value = g.node(root);
            let result = g.truthy(value);
            g.b.ins().return_(&[result]);
            g.b.seal_all_blocks();
            g.b.finalize(module.target_config());
        }
        module
            .define_function(id, &mut ctx)
            .map_err(|error| format!("define {name}: {error:?}"))?;
        module.clear_context(&mut ctx);
        ctx.func.signature.params.push(AbiParam::new(ptr));
        ctx.func.signature.params.push(AbiParam::new(ptr));
        ctx.func.signature.returns.push(AbiParam::new(types::I8));
        ids.push(id);
    }
    module
        .finalize_definitions()
        .map_err(|error| format!("finalize: {error}"))?;
    Ok((
        module.get_finalized_function(ids[0]),
        module.get_finalized_function(ids[1]),
    ))
}

/// Where the generated code reads field values from.
enum Source {
    /// A pointer to the caller's slot array.
    Slots(ir::Value),
    /// The root JSON object; fields are looked up with `af_lookup`.
    Root {
        root: ir::Value,
        /// The first of `path_count` paths owned by the `JitCondition`.
        paths: *const FieldPath,
        path_count: usize,
        /// Per field: `Some(None)` when it is read several times and must be looked up on
        /// entry (`load_eager` fills in the triple), `None` when it is looked up at its use.
        eager: Vec<Option<Option<Triple>>>,
    },
}

type Triple = (ir::Value, ir::Value, ir::Value);

impl Source {
    fn with_eager(mut self, counts: &[u32]) -> Source {
        if let Source::Root { eager, .. } = &mut self {
            for (slot, count) in eager.iter_mut().zip(counts) {
                if *count > 1 {
                    *slot = Some(None);
                }
            }
        }
        self
    }
}

/// A compiled sub-expression: a known boolean, a tagged triple, or a constant still foldable.
#[derive(Clone, Copy)]
enum CVal<'n> {
    Bool(ir::Value),
    Triple(ir::Value, ir::Value, ir::Value),
    Const(ConstRef<'n>),
}

/// A constant borrowed from the tree; its strings and lists stay at fixed addresses.
#[derive(Clone, Copy)]
enum ConstRef<'n> {
    Null,
    Bool(bool),
    Number(f64),
    Str(&'n str),
    List(&'n Value),
}

impl<'n> ConstRef<'n> {
    fn from_const(constant: &'n Const) -> ConstRef<'n> {
        match constant {
            Const::Null => ConstRef::Null,
            Const::Bool(b) => ConstRef::Bool(*b),
            Const::Number(n) => ConstRef::Number(*n),
            Const::String(s) => ConstRef::Str(s),
            Const::List(list) => ConstRef::List(list),
        }
    }

    fn from_json(value: &'n Value) -> ConstRef<'n> {
        match value {
            Value::Null => ConstRef::Null,
            Value::Bool(b) => ConstRef::Bool(*b),
            Value::Number(n) => ConstRef::Number(n.as_f64().unwrap_or(f64::NAN)),
            Value::String(s) => ConstRef::Str(s),
            Value::Array(_) | Value::Object(_) => ConstRef::List(value),
        }
    }

    fn to_val(self) -> Val<'n> {
        match self {
            ConstRef::Null => Val::Null,
            ConstRef::Bool(b) => Val::Bool(b),
            ConstRef::Number(n) => Val::Number(n),
            ConstRef::Str(s) => Val::Str(Cow::Borrowed(s)),
            ConstRef::List(list) => Val::from_json(Some(list)),
        }
    }
}

/// Helper signatures, imported into the function on first use.
#[derive(Clone, Copy)]
struct Sigs {
    binary: ir::SigRef,
    bytes_eq: ir::SigRef,
    lower: ir::SigRef,
    len: ir::SigRef,
    lookup: ir::SigRef,
}

struct Gen<'f> {
    b: FunctionBuilder<'f>,
    source: Source,
    arena: ir::Value,
    ptr: ir::Type,
    sigs: Option<Sigs>,
}

impl<'n> Gen<'_> {
    fn node(&mut self, node: &'n Node) -> CVal<'n> {
        // A sub-tree that reads no input is evaluated now by the reference interpreter.
        if !matches!(node, Node::Const(_))
            && node.is_constant()
            && let Val::Bool(b) = eval_node(node, &[] as &[Option<&Value>])
        {
            return CVal::Bool(self.b.ins().iconst(types::I8, i64::from(b)));
        }
        match node {
            Node::Const(constant) => CVal::Const(ConstRef::from_const(constant)),
            Node::Slot(index) => {
                let (tag, word, len) = self.read_field(*index);
                CVal::Triple(tag, word, len)
            }
            Node::Not(operand) => {
                let value = self.node(operand);
                let truth = self.truthy(value);
                CVal::Bool(self.b.ins().bxor_imm_u(truth, 1))
            }
            Node::And(lhs, rhs) => CVal::Bool(self.short_circuit(lhs, rhs, true)),
            Node::Or(lhs, rhs) => CVal::Bool(self.short_circuit(lhs, rhs, false)),
            Node::Compare(op, lhs, rhs) => {
                let (l, r) = (self.node(lhs), self.node(rhs));
                CVal::Bool(self.compare(*op, l, r))
            }
            Node::In(needle, list) => {
                let needle = self.node(needle);
                let list = self.node(list);
                CVal::Bool(self.member(needle, list))
            }
            Node::Call(function, args) => self.call(*function, args),
        }
    }

    /// Looks up, on entry, every field that `from_root` reads more than once.
    fn load_eager(&mut self) {
        let count = match &self.source {
            Source::Root { eager, .. } => eager.len(),
            Source::Slots(_) => 0,
        };
        for index in 0..count {
            if let Source::Root { eager, .. } = &self.source
                && eager[index].is_some()
            {
                let triple = self.lookup(index);
                if let Source::Root { eager, .. } = &mut self.source {
                    eager[index] = Some(Some(triple));
                }
            }
        }
    }

    /// The tagged triple of field `index` at this point of the code.
    fn read_field(&mut self, index: usize) -> Triple {
        match &self.source {
            Source::Slots(slots) => {
                let slots = *slots;
                let flags = MemFlagsData::trusted().with_readonly();
                let base = i32::try_from(index)
                    .unwrap_or(i32::MAX / SLOT_SIZE)
                    .saturating_mul(SLOT_SIZE);
                let tag = self.b.ins().load(types::I64, flags, slots, base);
                let word = self.b.ins().load(types::I64, flags, slots, base + 8);
                let len = self.b.ins().load(types::I64, flags, slots, base + 16);
                (tag, word, len)
            }
            Source::Root { eager, .. } => match eager.get(index) {
                Some(Some(Some(triple))) => *triple,
                _ => self.lookup(index),
            },
        }
    }

    /// Emits a call to `af_lookup` for field `index` and loads the slot it writes.
    fn lookup(&mut self, index: usize) -> Triple {
        let Source::Root {
            root,
            paths,
            path_count,
            ..
        } = &self.source
        else {
            return self.null_triple();
        };
        if index >= *path_count {
            // Field indices come from the same `CheckedExpr` as the paths; stay total anyway.
            return self.null_triple();
        }
        let root = *root;
        let path = paths.wrapping_add(index) as i64;
        let out = self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            SLOT_SIZE as u32,
            3,
        ));
        let out_addr = self.b.ins().stack_addr(self.ptr, out, 0);
        let path = self.b.ins().iconst(self.ptr, path);
        let sig = self.sigs().lookup;
        self.call_helper(sig, af_lookup as *const u8, &[root, path, out_addr]);
        let tag = self.b.ins().stack_load(self.ptr, types::I64, out, 0);
        let word = self.b.ins().stack_load(self.ptr, types::I64, out, 8);
        let len = self.b.ins().stack_load(self.ptr, types::I64, out, 16);
        (tag, word, len)
    }

    fn null_triple(&mut self) -> Triple {
        let zero = self.b.ins().iconst(types::I64, 0);
        (zero, zero, zero)
    }

    fn sigs(&mut self) -> Sigs {
        if let Some(sigs) = self.sigs {
            return sigs;
        }
        let call_conv = self.b.func.signature.call_conv;
        let mut make = |params: &[ir::Type], returns: &[ir::Type]| {
            let mut sig = ir::Signature::new(call_conv);
            sig.params
                .extend(params.iter().map(|ty| AbiParam::new(*ty)));
            sig.returns
                .extend(returns.iter().map(|ty| AbiParam::new(*ty)));
            self.b.import_signature(sig)
        };
        let i64 = types::I64;
        let sigs = Sigs {
            binary: make(&[i64; 6], &[types::I8]),
            bytes_eq: make(&[i64, i64, i64], &[types::I8]),
            lower: make(&[self.ptr, i64, i64, i64, self.ptr], &[]),
            len: make(&[i64, i64, i64], &[types::F64]),
            lookup: make(&[self.ptr, self.ptr, self.ptr], &[]),
        };
        self.sigs = Some(sigs);
        sigs
    }

    fn call_helper(
        &mut self,
        sig: ir::SigRef,
        address: *const u8,
        args: &[ir::Value],
    ) -> Option<ir::Value> {
        let callee = self.b.ins().iconst(self.ptr, address as i64);
        let inst = self.b.ins().call_indirect(sig, callee, args);
        self.b.inst_results(inst).first().copied()
    }

    fn call_binary(&mut self, helper: BinaryHelper, a: CVal<'n>, b: CVal<'n>) -> ir::Value {
        let (at, aw, al) = self.materialize(a);
        let (bt, bw, bl) = self.materialize(b);
        let sig = self.sigs().binary;
        self.call_helper(sig, helper as *const u8, &[at, aw, al, bt, bw, bl])
            .unwrap_or_else(|| self.b.ins().iconst(types::I8, 0))
    }

    fn materialize(&mut self, value: CVal<'n>) -> (ir::Value, ir::Value, ir::Value) {
        let i64 = types::I64;
        let (tag, word, len): (u64, u64, u64) = match value {
            CVal::Triple(t, w, l) => return (t, w, l),
            CVal::Bool(v) => {
                let tag = self.b.ins().iconst(i64, TAG_BOOL as i64);
                let word = self.b.ins().uextend(i64, v);
                let len = self.b.ins().iconst(i64, 0);
                return (tag, word, len);
            }
            CVal::Const(ConstRef::Null) => (TAG_NULL, 0, 0),
            CVal::Const(ConstRef::Bool(b)) => (TAG_BOOL, u64::from(b), 0),
            CVal::Const(ConstRef::Number(n)) => (TAG_NUMBER, n.to_bits(), 0),
            CVal::Const(ConstRef::Str(s)) => (TAG_STRING, s.as_ptr() as u64, s.len() as u64),
            CVal::Const(ConstRef::List(list)) => {
                let slot = Slot::from_json(Some(list));
                (slot.tag, slot.word, slot.len)
            }
        };
        let tag = self.b.ins().iconst(i64, tag as i64);
        let word = self.b.ins().iconst(i64, word as i64);
        let len = self.b.ins().iconst(i64, len as i64);
        (tag, word, len)
    }

    fn truthy(&mut self, value: CVal<'n>) -> ir::Value {
        match value {
            CVal::Bool(v) => v,
            CVal::Const(constant) => self.b.ins().iconst(
                types::I8,
                i64::from(matches!(constant, ConstRef::Bool(true))),
            ),
            CVal::Triple(tag, word, _) => {
                let is_bool = self.b.ins().icmp_imm_u(IntCC::Equal, tag, TAG_BOOL as i64);
                let is_set = self.b.ins().icmp_imm_u(IntCC::NotEqual, word, 0);
                self.b.ins().band(is_bool, is_set)
            }
        }
    }

    fn short_circuit(&mut self, lhs: &'n Node, rhs: &'n Node, is_and: bool) -> ir::Value {
        let left = self.node(lhs);
        let left = self.truthy(left);
        let rhs_block = self.b.create_block();
        let merge = self.b.create_block();
        let result = self.b.append_block_param(merge, types::I8);
        let pass = [BlockArg::Value(left)];
        if is_and {
            self.b.ins().brif(left, rhs_block, &[], merge, &pass);
        } else {
            self.b.ins().brif(left, merge, &pass, rhs_block, &[]);
        }
        self.b.switch_to_block(rhs_block);
        let right = self.node(rhs);
        let right = self.truthy(right);
        self.b.ins().jump(merge, &[BlockArg::Value(right)]);
        self.b.switch_to_block(merge);
        result
    }

    fn compare(&mut self, op: CompareOp, l: CVal<'n>, r: CVal<'n>) -> ir::Value {
        match op {
            CompareOp::Eq => self.equal(l, r),
            CompareOp::Ne => {
                let eq = self.equal(l, r);
                self.b.ins().bxor_imm_u(eq, 1)
            }
            CompareOp::Lt => self.order(op, af_less, l, r),
            CompareOp::Le => self.order(op, af_less_equal, l, r),
            CompareOp::Gt => self.order(op, af_greater, l, r),
            CompareOp::Ge => self.order(op, af_greater_equal, l, r),
        }
    }

    /// An ordering `op` (whose helper is `helper`): inline against a number constant, else
    /// through the helper.
    fn order(
        &mut self,
        op: CompareOp,
        helper: BinaryHelper,
        l: CVal<'n>,
        r: CVal<'n>,
    ) -> ir::Value {
        match (l, r) {
            (CVal::Triple(tag, word, _), CVal::Const(ConstRef::Number(n))) => {
                self.number_order(op, tag, word, n)
            }
            (CVal::Const(ConstRef::Number(n)), CVal::Triple(tag, word, _)) => {
                self.number_order(op.flipped(), tag, word, n)
            }
            _ => self.call_binary(helper, l, r),
        }
    }

    /// `tag == NUMBER && f64(word) op n`, inline.
    fn number_order(
        &mut self,
        op: CompareOp,
        tag: ir::Value,
        word: ir::Value,
        n: f64,
    ) -> ir::Value {
        let cc = match op {
            CompareOp::Lt => FloatCC::LessThan,
            CompareOp::Le => FloatCC::LessThanOrEqual,
            CompareOp::Gt => FloatCC::GreaterThan,
            CompareOp::Ge => FloatCC::GreaterThanOrEqual,
            CompareOp::Eq => FloatCC::Equal,
            CompareOp::Ne => FloatCC::OrderedNotEqual,
        };
        let is_number = self
            .b
            .ins()
            .icmp_imm_u(IntCC::Equal, tag, TAG_NUMBER as i64);
        let x = self.b.ins().bitcast(types::F64, MemFlagsData::new(), word);
        let y = self.b.ins().f64const(n);
        let holds = self.b.ins().fcmp(cc, x, y);
        self.b.ins().band(is_number, holds)
    }

    fn equal(&mut self, l: CVal<'n>, r: CVal<'n>) -> ir::Value {
        match (l, r) {
            (CVal::Const(a), CVal::Const(b)) => {
                let same = semantics::equal(&a.to_val(), &b.to_val());
                self.b.ins().iconst(types::I8, i64::from(same))
            }
            (CVal::Const(c), other) | (other, CVal::Const(c)) => self.equal_const(other, c),
            (CVal::Bool(a), CVal::Bool(b)) => self.b.ins().icmp(IntCC::Equal, a, b),
            _ => self.call_binary(af_equal, l, r),
        }
    }

    fn equal_const(&mut self, value: CVal<'n>, constant: ConstRef<'n>) -> ir::Value {
        let (tag, word, len) = match value {
            CVal::Bool(v) => {
                return match constant {
                    ConstRef::Bool(b) => self.b.ins().icmp_imm_u(IntCC::Equal, v, i64::from(b)),
                    _ => self.b.ins().iconst(types::I8, 0),
                };
            }
            CVal::Triple(t, w, l) => (t, w, l),
            CVal::Const(other) => {
                let same = semantics::equal(&other.to_val(), &constant.to_val());
                return self.b.ins().iconst(types::I8, i64::from(same));
            }
        };
        match constant {
            ConstRef::Null => self.b.ins().icmp_imm_u(IntCC::Equal, tag, TAG_NULL as i64),
            ConstRef::Bool(b) => {
                let is_bool = self.b.ins().icmp_imm_u(IntCC::Equal, tag, TAG_BOOL as i64);
                let same = self.b.ins().icmp_imm_u(IntCC::Equal, word, i64::from(b));
                self.b.ins().band(is_bool, same)
            }
            ConstRef::Number(n) => self.number_order(CompareOp::Eq, tag, word, n),
            ConstRef::Str(s) => self.string_equal_const(tag, word, len, s),
            ConstRef::List(_) => self.call_binary(af_equal, value, CVal::Const(constant)),
        }
    }

    /// Tag and length are tested inline; the bytes are compared only when both match.
    fn string_equal_const(
        &mut self,
        tag: ir::Value,
        word: ir::Value,
        len: ir::Value,
        s: &'n str,
    ) -> ir::Value {
        let is_string = self
            .b
            .ins()
            .icmp_imm_u(IntCC::Equal, tag, TAG_STRING as i64);
        let same_len = self.b.ins().icmp_imm_u(IntCC::Equal, len, s.len() as i64);
        let candidate = self.b.ins().band(is_string, same_len);
        if s.is_empty() {
            return candidate;
        }
        let bytes_block = self.b.create_block();
        let merge = self.b.create_block();
        let result = self.b.append_block_param(merge, types::I8);
        self.b.ins().brif(
            candidate,
            bytes_block,
            &[],
            merge,
            &[BlockArg::Value(candidate)],
        );
        self.b.switch_to_block(bytes_block);
        let same = if s.len() <= 16 {
            self.inline_bytes_equal(word, s.as_bytes())
        } else {
            let constant = self.b.ins().iconst(types::I64, s.as_ptr() as i64);
            let sig = self.sigs().bytes_eq;
            self.call_helper(sig, af_bytes_eq as *const u8, &[word, constant, len])
                .unwrap_or_else(|| self.b.ins().iconst(types::I8, 0))
        };
        self.b.ins().jump(merge, &[BlockArg::Value(same)]);
        self.b.switch_to_block(merge);
        result
    }

    /// Compares up to 16 bytes at `ptr` with `expected` using at most two loads, which may
    /// overlap (three bytes are checked as bytes 0..2 and 1..3). Only called once the slot is
    /// known to be a string of exactly `expected.len()` bytes, so every load is in bounds.
    fn inline_bytes_equal(&mut self, ptr: ir::Value, expected: &[u8]) -> ir::Value {
        let n = expected.len();
        let pieces: &[(usize, usize)] = match n {
            1 | 2 | 4 | 8 => &[(0, n)],
            3 => &[(0, 2), (1, 2)],
            5..=7 => &[(0, 4), (n - 4, 4)],
            _ => &[(0, 8), (n - 8, 8)],
        };
        let flags = MemFlagsData::new().with_notrap().with_readonly();
        let mut all = self.b.ins().iconst(types::I8, 1);
        for &(offset, width) in pieces {
            let chunk = &expected[offset..offset + width];
            // The value a `width`-byte load of `chunk` yields on the host, which is the target.
            let value = if cfg!(target_endian = "little") {
                chunk
                    .iter()
                    .rev()
                    .fold(0u64, |acc, byte| acc << 8 | u64::from(*byte))
            } else {
                chunk
                    .iter()
                    .fold(0u64, |acc, byte| acc << 8 | u64::from(*byte))
            };
            let ty = match width {
                1 => types::I8,
                2 => types::I16,
                4 => types::I32,
                _ => types::I64,
            };
            let loaded = self.b.ins().load(ty, flags, ptr, offset as i32);
            let same = self.b.ins().icmp_imm_u(IntCC::Equal, loaded, value as i64);
            all = self.b.ins().band(all, same);
        }
        all
    }

    fn member(&mut self, needle: CVal<'n>, list: CVal<'n>) -> ir::Value {
        match (needle, list) {
            (
                CVal::Bool(_) | CVal::Triple(..),
                CVal::Const(ConstRef::List(Value::Array(items))),
            ) => {
                // A literal list becomes a chain of inline comparisons with its items.
                let mut any = self.b.ins().iconst(types::I8, 0);
                for item in items {
                    let hit = self.equal_const(needle, ConstRef::from_json(item));
                    any = self.b.ins().bor(any, hit);
                }
                any
            }
            _ => self.call_binary(af_member, needle, list),
        }
    }

    fn call(&mut self, function: Function, args: &'n [Node]) -> CVal<'n> {
        if let Some((text, affix, at_start)) = lower_affix_call(function, args) {
            let (text, affix) = (self.node(text), self.node(affix));
            let helper: BinaryHelper = if at_start {
                af_lower_affix::<true>
            } else {
                af_lower_affix::<false>
            };
            return CVal::Bool(self.call_binary(helper, text, affix));
        }
        let mut values: Vec<CVal<'n>> = args.iter().map(|arg| self.node(arg)).collect();
        // Arity was checked; padding with null keeps this total for any tree.
        while values.len() < 2 {
            values.push(CVal::Const(ConstRef::Null));
        }
        let (first, second) = (values[0], values[1]);
        match function {
            Function::StartsWith => CVal::Bool(self.call_binary(af_starts_with, first, second)),
            Function::EndsWith => CVal::Bool(self.call_binary(af_ends_with, first, second)),
            Function::Contains => CVal::Bool(self.call_binary(af_contains, first, second)),
            Function::Lower => {
                let (t, w, l) = self.materialize(first);
                let out = self.b.create_sized_stack_slot(StackSlotData::new(
                    StackSlotKind::ExplicitSlot,
                    SLOT_SIZE as u32,
                    3,
                ));
                let out_addr = self.b.ins().stack_addr(self.ptr, out, 0);
                let sig = self.sigs().lower;
                let arena = self.arena;
                self.call_helper(sig, af_lower as *const u8, &[arena, t, w, l, out_addr]);
                let tag = self.b.ins().stack_load(self.ptr, types::I64, out, 0);
                let word = self.b.ins().stack_load(self.ptr, types::I64, out, 8);
                let len = self.b.ins().stack_load(self.ptr, types::I64, out, 16);
                CVal::Triple(tag, word, len)
            }
            Function::Len => {
                let (t, w, l) = self.materialize(first);
                let sig = self.sigs().len;
                let Some(count) = self.call_helper(sig, af_len as *const u8, &[t, w, l]) else {
                    return CVal::Const(ConstRef::Null);
                };
                // The helper signals "no length" with NaN, which no real length can be.
                let is_null = self.b.ins().fcmp(FloatCC::Unordered, count, count);
                let null_tag = self.b.ins().iconst(types::I64, TAG_NULL as i64);
                let number_tag = self.b.ins().iconst(types::I64, TAG_NUMBER as i64);
                let tag = self.b.ins().select(is_null, null_tag, number_tag);
                let word = self.b.ins().bitcast(types::I64, MemFlagsData::new(), count);
                let len = self.b.ins().iconst(types::I64, 0);
                CVal::Triple(tag, word, len)
            }
        }
    }
}
