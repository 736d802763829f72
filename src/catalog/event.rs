//! The event field catalogue: every field of the seven event groups, its type, and when a
//! Login flow makes it available. Taken from the event object reference.
//!
//! This table is the one source of truth: the checks, the expression type checker, the event
//! file validator, the runtime and `authflow types` all read it. It must not grow logic.

use serde::Serialize;

/// The type of an event field, as the reference names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    String,
    Number,
    Boolean,
    /// `unknown[]` in the reference.
    List,
    /// `Record<string, unknown>`: any keys below it are dynamic.
    Record,
    /// A group such as `event.request.geo`: an object with catalogued fields.
    Group,
}

/// When a field holds a meaningful value during a Login flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    /// Populated before the first block runs.
    FlowStart,
    /// Only after an Identity Lookup block ran on every path; reading it earlier throws.
    AfterIdentityLookup,
    /// Readable from flow start but reads 0 until a Risk Evaluate block ran.
    AfterRiskEvaluate,
    /// Readable from flow start; grows as each factor is verified.
    AsFactorsPass,
}

/// One row of the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct EventField {
    /// The path below `event`, dot-separated: `request.geo.country`.
    pub path: &'static str,
    pub ty: FieldType,
    pub available: Availability,
    pub doc: &'static str,
}

use Availability::*;
use FieldType::*;

const fn field(
    path: &'static str,
    ty: FieldType,
    available: Availability,
    doc: &'static str,
) -> EventField {
    EventField {
        path,
        ty,
        available,
        doc,
    }
}

/// Every event field, groups first within each section so that prefixes precede members.
pub static EVENT_FIELDS: &[EventField] = &[
    field(
        "authentication",
        Group,
        FlowStart,
        "The assurance level, verified methods, and risk score for this flow run.",
    ),
    field(
        "authentication.aal",
        String,
        AsFactorsPass,
        "\"aal0\" before any factor, \"aal1\" after the first factor, \"aal2\" after the second.",
    ),
    field(
        "authentication.methods",
        List,
        AsFactorsPass,
        "Ordered list of verified method names for this run, e.g. [\"password\", \"totp\"].",
    ),
    field(
        "authentication.risk_score",
        Number,
        AfterRiskEvaluate,
        "Integer 0-100 written by Risk Evaluate; 0 until that block runs.",
    ),
    field(
        "client",
        Group,
        FlowStart,
        "The OAuth2 application that initiated the flow.",
    ),
    field("client.id", String, FlowStart, "Opaque client identifier."),
    field(
        "client.name",
        String,
        FlowStart,
        "Human-readable display name of the application.",
    ),
    field(
        "client.type",
        String,
        FlowStart,
        "\"public\" for SPAs and mobile apps; \"confidential\" for server-side applications.",
    ),
    field(
        "connection",
        Group,
        FlowStart,
        "The authentication method used for this login.",
    ),
    field(
        "connection.id",
        String,
        FlowStart,
        "Opaque connection identifier.",
    ),
    field(
        "connection.name",
        String,
        FlowStart,
        "Display name, e.g. \"Google\" or \"Okta SAML\".",
    ),
    field(
        "connection.type",
        String,
        FlowStart,
        "One of \"oidc\", \"saml\", \"ldap\", or \"database\".",
    ),
    field(
        "request",
        Group,
        FlowStart,
        "The raw HTTP request: IP, geo enrichment, device fingerprint, threat signals.",
    ),
    field(
        "request.ip",
        String,
        FlowStart,
        "Client IP after proxy header resolution; may be IPv6.",
    ),
    field(
        "request.hostname",
        String,
        FlowStart,
        "Hostname from the HTTP Host header.",
    ),
    field(
        "request.method",
        String,
        FlowStart,
        "HTTP method, e.g. \"POST\".",
    ),
    field(
        "request.accept_language",
        String,
        FlowStart,
        "Accept-Language header value.",
    ),
    field(
        "request.user_agent",
        Group,
        FlowStart,
        "The User-Agent header, parsed best-effort.",
    ),
    field(
        "request.user_agent.raw",
        String,
        FlowStart,
        "Verbatim User-Agent header.",
    ),
    field(
        "request.user_agent.browser",
        String,
        FlowStart,
        "Detected browser name; empty when undetected.",
    ),
    field(
        "request.user_agent.browser_version",
        String,
        FlowStart,
        "Detected browser version; empty when undetected.",
    ),
    field(
        "request.user_agent.os",
        String,
        FlowStart,
        "Detected OS name; empty when undetected.",
    ),
    field(
        "request.user_agent.os_version",
        String,
        FlowStart,
        "Detected OS version; empty when undetected.",
    ),
    field(
        "request.user_agent.device_type",
        String,
        FlowStart,
        "\"desktop\", \"mobile\", or \"tablet\".",
    ),
    field(
        "request.user_agent.is_bot",
        Boolean,
        FlowStart,
        "true when the User-Agent matches known bot or crawler patterns.",
    ),
    field(
        "request.geo",
        Group,
        FlowStart,
        "GeoLite2 enrichment of the client IP; empty strings and 0 for private IPs.",
    ),
    field(
        "request.geo.country",
        String,
        FlowStart,
        "ISO 3166-1 alpha-2 country code; empty when the IP is private or unknown.",
    ),
    field(
        "request.geo.region",
        String,
        FlowStart,
        "State or region name; empty when unavailable.",
    ),
    field(
        "request.geo.city",
        String,
        FlowStart,
        "City name; empty when unavailable.",
    ),
    field(
        "request.geo.latitude",
        Number,
        FlowStart,
        "Approximate latitude; 0 when unavailable.",
    ),
    field(
        "request.geo.longitude",
        Number,
        FlowStart,
        "Approximate longitude; 0 when unavailable.",
    ),
    field(
        "request.asn",
        Group,
        FlowStart,
        "Threat signals from the client IP's Autonomous System.",
    ),
    field(
        "request.asn.number",
        Number,
        FlowStart,
        "Autonomous System Number; 0 when unresolvable.",
    ),
    field(
        "request.asn.org",
        String,
        FlowStart,
        "Organisation name for the ASN; empty when unresolvable.",
    ),
    field(
        "request.asn.is_vpn",
        Boolean,
        FlowStart,
        "true when the IP belongs to a commercial VPN service.",
    ),
    field(
        "request.asn.is_tor",
        Boolean,
        FlowStart,
        "true when the IP is a known Tor exit node.",
    ),
    field(
        "request.asn.is_datacenter",
        Boolean,
        FlowStart,
        "true when the IP belongs to a cloud or hosting provider.",
    ),
    field(
        "request.asn.is_bogon",
        Boolean,
        FlowStart,
        "true when the IP is unroutable or reserved (loopback, private, link-local).",
    ),
    field(
        "request.visitor_id",
        String,
        FlowStart,
        "FingerprintJS visitor identifier; empty when FingerprintJS could not run.",
    ),
    field(
        "request.visitor_confidence",
        Number,
        FlowStart,
        "FingerprintJS confidence 0-1 for visitor_id.",
    ),
    field(
        "request.canvas_fp",
        String,
        FlowStart,
        "Hash of the browser's Canvas rendering output.",
    ),
    field(
        "request.webgl_fp",
        String,
        FlowStart,
        "Hash of the browser's WebGL renderer output; empty when WebGL is disabled.",
    ),
    field("tenant", Group, FlowStart, "The tenant running this flow."),
    field("tenant.id", String, FlowStart, "Opaque tenant identifier."),
    field(
        "tenant.name",
        String,
        FlowStart,
        "Display name of the tenant.",
    ),
    field(
        "tenant.slug",
        String,
        FlowStart,
        "URL-safe slug used in subdomain routing.",
    ),
    field(
        "transaction",
        Group,
        FlowStart,
        "The in-flight OAuth2 transaction.",
    ),
    field(
        "transaction.id",
        String,
        FlowStart,
        "Unique identifier for this authentication transaction.",
    ),
    field(
        "transaction.nonce",
        String,
        FlowStart,
        "Nonce from the authorize request; empty when not provided.",
    ),
    field(
        "transaction.state",
        String,
        FlowStart,
        "Opaque state value from the authorize request.",
    ),
    field(
        "transaction.redirect_uri",
        String,
        FlowStart,
        "Where the code or token is sent after a successful flow.",
    ),
    field(
        "transaction.requested_scopes",
        String,
        FlowStart,
        "Space-separated OAuth2 scopes; empty when none were specified.",
    ),
    field(
        "transaction.acr_values",
        String,
        FlowStart,
        "Requested ACR values; empty when not provided.",
    ),
    field(
        "transaction.locale",
        String,
        FlowStart,
        "Locale requested by the client; empty when not provided.",
    ),
    field(
        "transaction.prompt",
        String,
        FlowStart,
        "OAuth2 prompt parameter; empty when not provided.",
    ),
    field(
        "user",
        Group,
        AfterIdentityLookup,
        "The authenticated user's identity, metadata, and enrolled factors.",
    ),
    field(
        "user.id",
        String,
        AfterIdentityLookup,
        "The user's stable usr_-prefixed identifier.",
    ),
    field(
        "user.email",
        String,
        AfterIdentityLookup,
        "Primary email address; empty when none is on file.",
    ),
    field(
        "user.email_verified",
        Boolean,
        AfterIdentityLookup,
        "true when the user completed email verification.",
    ),
    field(
        "user.phone",
        String,
        AfterIdentityLookup,
        "Primary phone in E.164 format; empty when none is on file.",
    ),
    field(
        "user.phone_verified",
        Boolean,
        AfterIdentityLookup,
        "true when the user completed phone verification.",
    ),
    field(
        "user.created_at",
        String,
        AfterIdentityLookup,
        "ISO 8601 timestamp when the identity was created.",
    ),
    field(
        "user.last_login_at",
        String,
        AfterIdentityLookup,
        "ISO 8601 timestamp of the most recent login; empty for new accounts.",
    ),
    field(
        "user.app_metadata",
        Record,
        AfterIdentityLookup,
        "Admin-controlled metadata; api.user.setAppMetadata shallow-merges into it.",
    ),
    field(
        "user.user_metadata",
        Record,
        AfterIdentityLookup,
        "User-controlled metadata; readable, not to be written by actions.",
    ),
    field(
        "user.enrolled_factors",
        List,
        AfterIdentityLookup,
        "MFA factor types the user enrolled, e.g. [\"totp\", \"webauthn\"].",
    ),
    field(
        "user.identities",
        List,
        AfterIdentityLookup,
        "Linked identities: objects with connection, provider and sub.",
    ),
];

/// How a dotted path below `event` resolves against the catalogue.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FieldLookup {
    /// The path names a catalogued field or group.
    Field(&'static EventField),
    /// The path goes below a `Record` field (`user.app_metadata.tier`): dynamic, no type.
    Dynamic(&'static EventField),
    /// No such field.
    Unknown,
}

/// A node of the catalogue's path tree: a field and its members by segment name.
struct PathNode {
    field: Option<&'static EventField>,
    children: Vec<(&'static str, PathNode)>,
}

/// The catalogue as a tree of segments, built once: lookups walk it one short list per
/// segment, without allocating or re-splitting paths (they run for every read of every block).
fn tree() -> &'static PathNode {
    static TREE: std::sync::OnceLock<PathNode> = std::sync::OnceLock::new();
    TREE.get_or_init(|| {
        let mut root = PathNode {
            field: None,
            children: Vec::new(),
        };
        for field in EVENT_FIELDS {
            let mut node = &mut root;
            for segment in field.path.split('.') {
                let index = match node.children.iter().position(|(name, _)| *name == segment) {
                    Some(i) => i,
                    None => {
                        node.children.push((
                            segment,
                            PathNode {
                                field: None,
                                children: Vec::new(),
                            },
                        ));
                        node.children.len() - 1
                    }
                };
                node = &mut node.children[index].1;
            }
            node.field = Some(field);
        }
        root
    })
}

/// Resolves `segments` (below `event`) against the catalogue.
pub fn lookup<S: AsRef<str>>(segments: &[S]) -> FieldLookup {
    let mut node = tree();
    for (i, segment) in segments.iter().enumerate() {
        let segment = segment.as_ref();
        let Some((_, child)) = node.children.iter().find(|(name, _)| *name == segment) else {
            return FieldLookup::Unknown;
        };
        match child.field {
            Some(f) if f.ty == Record && i + 1 < segments.len() => return FieldLookup::Dynamic(f),
            Some(f) if i + 1 == segments.len() => return FieldLookup::Field(f),
            _ => node = child,
        }
    }
    FieldLookup::Unknown
}

/// The closest catalogued path to an unknown one, for "did you mean".
pub fn suggest<S: AsRef<str>>(segments: &[S]) -> Option<&'static str> {
    let wanted = segments
        .iter()
        .map(|s| s.as_ref())
        .collect::<Vec<_>>()
        .join(".");
    crate::catalog::closest(&wanted, EVENT_FIELDS.iter().map(|f| f.path))
}

/// The group a path starts in (`user`, `request`, ...), if it is one of the seven.
pub fn group_of<S: AsRef<str>>(segments: &[S]) -> Option<&'static EventField> {
    let first = segments.first()?.as_ref();
    EVENT_FIELDS.iter().find(|f| f.path == first)
}
