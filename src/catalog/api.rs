//! The custom-action api surface: which `api.*` methods exist and which triggers offer them.

/// What kind of event runs an action.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// A Run Custom Action block inside a Login flow: `exports.handler`.
    Login,
    /// Asynchronous delivery of subscribed events: `exports.onExecuteEventStream`.
    EventStream,
}

impl Trigger {
    /// The name metadata files use (`trigger: event-stream`).
    pub fn name(self) -> &'static str {
        match self {
            Trigger::Login => "login",
            Trigger::EventStream => "event-stream",
        }
    }

    /// The export the runtime calls.
    pub fn export_name(self) -> &'static str {
        match self {
            Trigger::Login => "handler",
            Trigger::EventStream => "onExecuteEventStream",
        }
    }
}

/// One `api.*` method.
pub struct ApiMethod {
    pub name: &'static str,
    pub signature: &'static str,
    pub doc: &'static str,
    pub login: bool,
    pub event_stream: bool,
}

pub static API_METHODS: &[ApiMethod] = &[
    ApiMethod {
        name: "deny",
        signature: "deny(reason: string): void",
        doc: "Terminate the flow with a reason.",
        login: true,
        event_stream: false,
    },
    ApiMethod {
        name: "state.set",
        signature: "set(key: string, value: unknown): void",
        doc: "Write step.<slug>.<key>, readable by later blocks.",
        login: true,
        event_stream: false,
    },
    ApiMethod {
        name: "log",
        signature: "log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void",
        doc: "Structured log line, shown in the trace.",
        login: true,
        event_stream: true,
    },
    ApiMethod {
        name: "user.setAppMetadata",
        signature: "setAppMetadata(patch: Record<string, unknown>): void",
        doc: "Shallow-merge into user.app_metadata; visible at once in event.user.app_metadata.",
        login: true,
        event_stream: false,
    },
    ApiMethod {
        name: "session.setCustomClaim",
        signature: "setCustomClaim(name: string, value: unknown): void",
        doc: "Add a custom claim to the issued session token.",
        login: true,
        event_stream: false,
    },
    ApiMethod {
        name: "fetch",
        signature: "fetch(url: string, init?: RequestInit): Promise<Response>",
        doc: "Outbound HTTPS to an allowlisted URL.",
        login: true,
        event_stream: true,
    },
];

pub fn method(name: &str) -> Option<&'static ApiMethod> {
    API_METHODS.iter().find(|m| m.name == name)
}

pub const LOG_LEVELS: &[&str] = &["debug", "info", "warn", "error"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_names_are_the_metadata_spelling() {
        for trigger in [Trigger::Login, Trigger::EventStream] {
            let yaml: Trigger = serde_json::from_value(serde_json::json!(trigger.name())).unwrap();
            assert_eq!(yaml, trigger);
        }
    }
}
