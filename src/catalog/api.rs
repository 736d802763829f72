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
    /// Every trigger, in the order the docs list them.
    pub const ALL: [Trigger; 2] = [Trigger::Login, Trigger::EventStream];

    /// The trigger whose runtime export is `name` (`handler`, `onExecuteEventStream`).
    pub fn from_export(name: &str) -> Option<Trigger> {
        Trigger::ALL.into_iter().find(|t| t.export_name() == name)
    }

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

/// Severity of a log line: the levels `api.log` accepts, and what `console.*` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    /// `api.log('debug', ..)` and `console.debug`.
    Debug,
    /// `api.log('info', ..)`, `console.log` and `console.info`.
    Info,
    /// `api.log('warn', ..)` and `console.warn`.
    Warn,
    /// `api.log('error', ..)` and `console.error`.
    Error,
}

impl LogLevel {
    /// Every level, least severe first.
    pub const ALL: [LogLevel; 4] = [
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Warn,
        LogLevel::Error,
    ];

    /// The level's name in `api.log`, traces and test files.
    pub const fn name(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }

    /// The level named `name`, if it is one.
    pub fn parse(name: &str) -> Option<LogLevel> {
        LogLevel::ALL.into_iter().find(|l| l.name() == name)
    }
}

/// The level names, for schemas and config kinds that take a list of strings.
pub const LOG_LEVELS: &[&str] = &[
    LogLevel::ALL[0].name(),
    LogLevel::ALL[1].name(),
    LogLevel::ALL[2].name(),
    LogLevel::ALL[3].name(),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_names_are_the_metadata_spelling() {
        for trigger in Trigger::ALL {
            let yaml: Trigger = serde_json::from_value(serde_json::json!(trigger.name())).unwrap();
            assert_eq!(yaml, trigger);
            assert_eq!(Trigger::from_export(trigger.export_name()), Some(trigger));
        }
        assert_eq!(Trigger::from_export("onExecutePostLogin"), None);
    }

    #[test]
    fn log_level_names_are_the_serde_spelling() {
        assert_eq!(LOG_LEVELS.len(), LogLevel::ALL.len());
        for (level, name) in LogLevel::ALL.into_iter().zip(LOG_LEVELS) {
            assert_eq!(level.name(), *name);
            assert_eq!(serde_json::json!(level), serde_json::json!(name));
            assert_eq!(LogLevel::parse(name), Some(level));
        }
        assert_eq!(LogLevel::parse("trace"), None);
    }
}
