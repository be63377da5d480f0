//! An enum field of a request as sent, before validation: already typed
//! (the gRPC conversion maps each proto enum to the domain enum directly)
//! or a name still to be parsed (bundle tests, and proto numbers that name
//! no value).

use super::Violations;

/// An enum field as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum EnumInput<T> {
    /// Not given.
    #[default]
    Unset,
    /// A value already typed.
    Typed(T),
    /// A name to parse, short or long (`RESELLER`,
    /// `REQUESTER_ROLE_RESELLER`); one that names nothing is reported
    /// quoted as it is.
    Text(String),
}

/// A name, or nothing when the field was not given.
impl<T> From<Option<String>> for EnumInput<T> {
    fn from(name: Option<String>) -> Self {
        name.map_or(Self::Unset, Self::Text)
    }
}

impl<T> EnumInput<T> {
    /// The value; or, recorded in `bad` against `field`, "is required" when
    /// unset and "`name` is not a {what}" when `parse` finds nothing.
    pub(super) fn resolve(
        self,
        bad: &mut Violations,
        field: impl Into<String>,
        what: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Option<T> {
        match self {
            Self::Typed(value) => Some(value),
            Self::Unset => {
                bad.push(field, "is required");
                None
            }
            Self::Text(name) => {
                let value = parse(&name);
                if value.is_none() {
                    bad.push(field, format!("`{name}` is not a {what}"));
                }
                value
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RequesterRole;

    fn resolve(input: EnumInput<RequesterRole>) -> (Option<RequesterRole>, Vec<String>) {
        let mut bad = Violations::default();
        let role = input.resolve(
            &mut bad,
            "requester.role",
            "requester role",
            RequesterRole::parse,
        );
        (role, bad.iter().map(|v| v.description.clone()).collect())
    }

    #[test]
    fn typed_values_are_taken_as_they_are_and_names_are_parsed() {
        let tenant = Some(RequesterRole::Tenant);
        assert_eq!(
            resolve(EnumInput::Typed(RequesterRole::Tenant)),
            (tenant, vec![])
        );
        assert_eq!(resolve(Some("TENANT".to_owned()).into()), (tenant, vec![]));
        assert_eq!(
            resolve(EnumInput::Text("REQUESTER_ROLE_TENANT".to_owned())),
            (tenant, vec![])
        );
    }

    #[test]
    fn unset_and_unknown_values_are_violations() {
        let required = vec!["is required".to_owned()];
        assert_eq!(resolve(EnumInput::Unset), (None, required.clone()));
        assert_eq!(resolve(None.into()), (None, required));
        assert_eq!(
            resolve(EnumInput::Text("REQUESTER_ROLE_9".to_owned())),
            (
                None,
                vec!["`REQUESTER_ROLE_9` is not a requester role".to_owned()]
            )
        );
    }
}
