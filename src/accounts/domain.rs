//! Account types that can only hold valid values. `parse` turns user input into them or
//! into a translation key that says what is wrong.

use std::fmt;

/// A normalised email address: trimmed, lower-cased, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let email = input.trim().to_lowercase();
        if email.is_empty() {
            return Err("validation.email_required");
        }
        if email.chars().count() > Self::MAX_LEN {
            return Err("validation.email_too_long");
        }
        let (local, domain) = email.split_once('@').ok_or("validation.email_invalid")?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !local_ok || !domain_ok {
            return Err("validation.email_invalid");
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new password: 12 to 128 characters. The upper bound caps hashing work per request.
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let count = input.chars().count();
        if count < Self::MIN_CHARS {
            return Err("validation.password_too_short");
        }
        if count > Self::MAX_CHARS {
            return Err("validation.password_too_long");
        }
        if input.trim().is_empty() {
            return Err("validation.password_too_short");
        }
        Ok(Self(input.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(****)")
    }
}

/// A person's name as shown on pages: 1 to 80 characters of printable text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 80;

    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let name = input.trim();
        if name.is_empty() {
            return Err("validation.name_required");
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err("validation.name_too_long");
        }
        if !is_printable_text(name) {
            return Err("validation.invalid_characters");
        }
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Text without control characters or the replacement character that stands in for
/// bytes that were not valid UTF-8.
pub fn is_printable_text(text: &str) -> bool {
    !text.chars().any(|c| c.is_control() || c == '\u{FFFD}')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Trainee,
    Instructor,
    Supplier,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Trainee, Role::Instructor, Role::Supplier, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Trainee => "trainee",
            Role::Instructor => "instructor",
            Role::Supplier => "supplier",
            Role::Admin => "admin",
        }
    }

    pub fn parse(input: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == input)
    }

    /// Where this role lands after logging in.
    pub fn home_path(self) -> &'static str {
        match self {
            Role::Trainee => "/learn",
            Role::Instructor => "/instructor",
            Role::Supplier => "/supplier",
            Role::Admin => "/admin",
        }
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Role::Trainee => "roles.trainee",
            Role::Instructor => "roles.instructor",
            Role::Supplier => "roles.supplier",
            Role::Admin => "roles.admin",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised() {
        assert_eq!(
            Email::parse("  Mei.Lin@Example.COM ").unwrap().as_str(),
            "mei.lin@example.com"
        );
    }

    #[test]
    fn bad_emails_say_why() {
        assert_eq!(Email::parse(""), Err("validation.email_required"));
        assert_eq!(Email::parse("no-at-sign"), Err("validation.email_invalid"));
        assert_eq!(Email::parse("a@localhost"), Err("validation.email_invalid"));
        assert_eq!(Email::parse("a@@b.com"), Err("validation.email_invalid"));
        assert_eq!(Email::parse("a b@c.com"), Err("validation.email_invalid"));
        assert_eq!(
            Email::parse("<script>@x.com"),
            Err("validation.email_invalid")
        );
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err("validation.email_too_long"));
    }

    #[test]
    fn passwords_need_twelve_characters() {
        assert!(NewPassword::parse("elevenchars").is_err());
        assert!(NewPassword::parse("twelve chars").is_ok());
        // Characters, not bytes: twelve Chinese characters are enough.
        assert!(NewPassword::parse("一二三四五六七八九十百千").is_ok());
        assert!(NewPassword::parse(&"x".repeat(129)).is_err());
        assert!(NewPassword::parse("            ").is_err());
    }

    #[test]
    fn display_names_refuse_control_characters() {
        assert!(DisplayName::parse("Mei\u{0}Lin").is_err());
        assert!(DisplayName::parse("Mei\u{FFFD}").is_err());
        assert!(DisplayName::parse(&"名".repeat(81)).is_err());
        assert_eq!(DisplayName::parse(" 林美 ").unwrap().as_str(), "林美");
    }
}
