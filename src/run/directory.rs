//! The simulated user directory: users with ids, emails, phones, metadata, enrolled factors,
//! argon2 password hashes and TOTP secrets, read from the workspace's users.yaml and from the
//! event file's `directory`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `users.yaml`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectoryFile {
    #[serde(default)]
    pub users: Vec<DirectoryUser>,
}

/// One user as the directory stores it. Secrets (`password_hash`, `totp_secret`) never reach
/// `event.user`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectoryUser {
    /// Stable `usr_`-prefixed id.
    pub id: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub phone_verified: bool,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub last_login_at: String,
    /// argon2 PHC string (`authflow hash-password` makes one).
    #[serde(default)]
    pub password_hash: Option<String>,
    /// Base32 TOTP secret.
    #[serde(default)]
    pub totp_secret: Option<String>,
    #[serde(default)]
    pub enrolled_factors: Vec<String>,
    /// One-time codes the platform sent this user (passwordless login), which the One-Time
    /// Code block checks `credentials.code` against. Never part of `event.user`.
    #[serde(default)]
    pub sent_codes: Vec<SentCode>,
    #[serde(default)]
    pub app_metadata: Map<String, Value>,
    #[serde(default)]
    pub user_metadata: Map<String, Value>,
    #[serde(default)]
    pub identities: Vec<Value>,
    /// `public()` built once: every run that looks this user up copies it.
    #[serde(skip)]
    #[schemars(skip)]
    public: std::sync::OnceLock<Value>,
}

impl DirectoryUser {
    /// The user as `event.user` shows it.
    pub fn public(&self) -> Value {
        self.public.get_or_init(|| self.build_public()).clone()
    }

    fn build_public(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "email": self.email,
            "email_verified": self.email_verified,
            "phone": self.phone,
            "phone_verified": self.phone_verified,
            "created_at": self.created_at,
            "last_login_at": self.last_login_at,
            "app_metadata": self.app_metadata,
            "user_metadata": self.user_metadata,
            "enrolled_factors": self.enrolled_factors,
            "identities": self.identities,
        })
    }
}

/// A one-time code as the platform sent it.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SentCode {
    pub channel: Channel,
    pub code: String,
    /// RFC 3339; the code is refused from this instant on. Without it the code never expires.
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// How a one-time code reaches the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub const NAMES: &[&str] = &["email", "sms"];

    pub fn parse(name: &str) -> Option<Channel> {
        match name {
            "email" => Some(Channel::Email),
            "sms" => Some(Channel::Sms),
            _ => None,
        }
    }
}

/// All users a simulation can find.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    pub users: Vec<DirectoryUser>,
}

impl Directory {
    /// The user whose email (case-insensitively), phone or id is `identifier`.
    pub fn find(&self, identifier: &str) -> Option<&DirectoryUser> {
        Directory::find_in(&self.users, identifier)
    }

    /// `find` over any list of users.
    pub fn find_in<'a>(users: &'a [DirectoryUser], identifier: &str) -> Option<&'a DirectoryUser> {
        let identifier = identifier.trim();
        users.iter().find(|u| {
            u.email.eq_ignore_ascii_case(identifier)
                || (!u.phone.is_empty() && u.phone == identifier)
                || u.id == identifier
        })
    }
}
