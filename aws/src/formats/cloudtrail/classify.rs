//! What a CloudTrail event is, from its name: a sign-in or credential issue, a change to an IAM
//! identity, or another API call with the kind of operation its verb says. Both schemas use it:
//! OCSF picks its class and activity from it, ECS its `event.category` and `event.type`.

/// The kind of a CloudTrail event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventKind {
    /// OCSF Authentication 3002, with its `activity_id`.
    Authentication(AuthenticationActivity),
    /// OCSF Account Change 3001, with its `activity_id`.
    AccountChange(i64),
    /// OCSF API Activity 6003.
    Api(ApiVerb),
}

/// Authentication 3002 activities Weir uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AuthenticationActivity {
    /// 1 Logon: a sign-in (console, Identity Center, directory).
    Logon,
    /// 3 Authentication Ticket: STS issuing temporary credentials for a role (the closest OCSF
    /// activity to a credential grant).
    Ticket,
    /// 99 Other: steps of a sign-in (MFA check, credential challenge).
    Other,
}

impl AuthenticationActivity {
    /// The OCSF `activity_id`.
    pub(crate) const fn id(self) -> i64 {
        match self {
            Self::Logon => 1,
            Self::Ticket => 3,
            Self::Other => 99,
        }
    }
}

/// API Activity 6003's activities, from the operation's verb.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ApiVerb {
    /// 1 Create.
    Create,
    /// 2 Read.
    Read,
    /// 3 Update.
    Update,
    /// 4 Delete.
    Delete,
    /// 99 Other.
    Other,
}

impl ApiVerb {
    /// The OCSF `activity_id`.
    pub(crate) const fn id(self) -> i64 {
        match self {
            Self::Create => 1,
            Self::Read => 2,
            Self::Update => 3,
            Self::Delete => 4,
            Self::Other => 99,
        }
    }

    /// ECS `event.type` of an API call of this verb.
    pub(crate) const fn ecs_types(self) -> &'static [&'static str] {
        match self {
            Self::Create => &["creation"],
            Self::Read => &["access"],
            Self::Update => &["change"],
            Self::Delete => &["deletion"],
            Self::Other => &["info"],
        }
    }
}

/// Sign-in and credential events (the OCSF project's CloudTrail mapping).
const AUTHENTICATION: &[(&str, AuthenticationActivity)] = &[
    ("ConsoleLogin", AuthenticationActivity::Logon),
    ("ExternalIdPDirectoryLogin", AuthenticationActivity::Logon),
    ("UserAuthentication", AuthenticationActivity::Logon),
    ("CredentialVerification", AuthenticationActivity::Logon),
    ("CheckMfa", AuthenticationActivity::Other),
    ("CredentialChallenge", AuthenticationActivity::Other),
    ("AssumeRole", AuthenticationActivity::Ticket),
    ("AssumeRoleWithSAML", AuthenticationActivity::Ticket),
    ("AssumeRoleWithWebIdentity", AuthenticationActivity::Ticket),
];

/// IAM's own event source: account changes are IAM's operations (other services have operations
/// of the same names, such as Cognito's `ChangePassword` or Amazon MQ's `CreateUser`).
pub(crate) const IAM_SOURCE: &str = "iam.amazonaws.com";

/// IAM identity changes and their Account Change activity: 1 Create, 3 Password Change, 6 Delete,
/// 7 Attach Policy, 8 Detach Policy, 10 MFA Factor Enable, 11 MFA Factor Disable, 99 Other.
/// (Status changes of keys and credentials are 2 Enable / 5 Disable: see [`classify`].)
const ACCOUNT_CHANGES: &[(&str, i64)] = &[
    ("CreateUser", 1),
    ("CreateRole", 1),
    ("CreateAccessKey", 1),
    ("CreateLoginProfile", 1),
    ("CreateServiceLinkedRole", 1),
    ("CreateServiceSpecificCredential", 1),
    ("UploadSSHPublicKey", 1),
    ("UploadSigningCertificate", 1),
    ("ChangePassword", 3),
    ("UpdateLoginProfile", 3),
    ("DeleteUser", 6),
    ("DeleteRole", 6),
    ("DeleteAccessKey", 6),
    ("DeleteLoginProfile", 6),
    ("DeleteServiceLinkedRole", 6),
    ("DeleteServiceSpecificCredential", 6),
    ("DeleteSSHPublicKey", 6),
    ("DeleteSigningCertificate", 6),
    ("AttachUserPolicy", 7),
    ("AttachRolePolicy", 7),
    ("AttachGroupPolicy", 7),
    ("PutUserPolicy", 7),
    ("PutRolePolicy", 7),
    ("PutGroupPolicy", 7),
    ("PutUserPermissionsBoundary", 7),
    ("PutRolePermissionsBoundary", 7),
    ("DetachUserPolicy", 8),
    ("DetachRolePolicy", 8),
    ("DetachGroupPolicy", 8),
    ("DeleteUserPolicy", 8),
    ("DeleteRolePolicy", 8),
    ("DeleteGroupPolicy", 8),
    ("DeleteUserPermissionsBoundary", 8),
    ("DeleteRolePermissionsBoundary", 8),
    ("EnableMFADevice", 10),
    ("DeactivateMFADevice", 11),
    ("DeleteVirtualMFADevice", 11),
    ("CreateVirtualMFADevice", 99),
    ("ResyncMFADevice", 99),
    ("UpdateUser", 99),
    ("UpdateRole", 99),
    ("UpdateRoleDescription", 99),
    ("UpdateAssumeRolePolicy", 99),
    ("AddUserToGroup", 99),
    ("RemoveUserFromGroup", 99),
    ("TagUser", 99),
    ("UntagUser", 99),
    ("TagRole", 99),
    ("UntagRole", 99),
    ("AddRoleToInstanceProfile", 99),
    ("RemoveRoleFromInstanceProfile", 99),
];

/// Operations whose `requestParameters.status` (`Active` / `Inactive`) enables or disables a
/// credential: Account Change 2 Enable / 5 Disable.
const STATUS_CHANGES: &[&str] = &[
    "UpdateAccessKey",
    "UpdateSSHPublicKey",
    "UpdateSigningCertificate",
    "UpdateServiceSpecificCredential",
];

/// Verbs (the operation name's first word) and what they do; longer verbs first where one
/// starts with another.
const VERBS: &[(&str, ApiVerb)] = &[
    ("BatchGet", ApiVerb::Read),
    ("BatchDelete", ApiVerb::Delete),
    ("BatchWrite", ApiVerb::Update),
    ("Create", ApiVerb::Create),
    ("Run", ApiVerb::Create),
    ("Generate", ApiVerb::Create),
    ("Allocate", ApiVerb::Create),
    ("Copy", ApiVerb::Create),
    ("Import", ApiVerb::Create),
    ("Issue", ApiVerb::Create),
    ("Launch", ApiVerb::Create),
    ("Upload", ApiVerb::Create),
    ("Get", ApiVerb::Read),
    ("List", ApiVerb::Read),
    ("Describe", ApiVerb::Read),
    ("Lookup", ApiVerb::Read),
    ("Search", ApiVerb::Read),
    ("Head", ApiVerb::Read),
    ("Scan", ApiVerb::Read),
    ("Query", ApiVerb::Read),
    ("Select", ApiVerb::Read),
    ("Download", ApiVerb::Read),
    ("Filter", ApiVerb::Read),
    ("View", ApiVerb::Read),
    ("Check", ApiVerb::Read),
    ("Update", ApiVerb::Update),
    ("Put", ApiVerb::Update),
    ("Modify", ApiVerb::Update),
    ("Add", ApiVerb::Update),
    ("Remove", ApiVerb::Update),
    ("Start", ApiVerb::Update),
    ("Stop", ApiVerb::Update),
    ("Attach", ApiVerb::Update),
    ("Detach", ApiVerb::Update),
    ("Associate", ApiVerb::Update),
    ("Disassociate", ApiVerb::Update),
    ("Tag", ApiVerb::Update),
    ("Untag", ApiVerb::Update),
    ("Enable", ApiVerb::Update),
    ("Disable", ApiVerb::Update),
    ("Register", ApiVerb::Update),
    ("Deregister", ApiVerb::Update),
    ("Set", ApiVerb::Update),
    ("Change", ApiVerb::Update),
    ("Reset", ApiVerb::Update),
    ("Reboot", ApiVerb::Update),
    ("Replace", ApiVerb::Update),
    ("Restore", ApiVerb::Update),
    ("Accept", ApiVerb::Update),
    ("Reject", ApiVerb::Update),
    ("Apply", ApiVerb::Update),
    ("Authorize", ApiVerb::Update),
    ("Revoke", ApiVerb::Update),
    ("Assign", ApiVerb::Update),
    ("Unassign", ApiVerb::Update),
    ("Resume", ApiVerb::Update),
    ("Suspend", ApiVerb::Update),
    ("Cancel", ApiVerb::Update),
    ("Rotate", ApiVerb::Update),
    ("Edit", ApiVerb::Update),
    ("Delete", ApiVerb::Delete),
    ("Terminate", ApiVerb::Delete),
    ("Release", ApiVerb::Delete),
    ("Purge", ApiVerb::Delete),
];

/// The verb of an operation name: the longest known first word (`DescribeInstances` → Read;
/// `Settle` is not `Set`: the verb must end where a new word begins).
pub(crate) fn verb_of(operation: &str) -> ApiVerb {
    VERBS
        .iter()
        .find(|(verb, _)| {
            operation.strip_prefix(verb).is_some_and(|rest| {
                rest.chars()
                    .next()
                    .is_none_or(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            })
        })
        .map_or(ApiVerb::Other, |(_, kind)| *kind)
}

/// The kind of an event with this name and source (`requestParameters.status` given for the
/// credential status changes).
pub(crate) fn classify(name: &str, source: Option<&str>, status: Option<&str>) -> EventKind {
    if let Some((_, activity)) = AUTHENTICATION.iter().find(|(n, _)| *n == name) {
        return EventKind::Authentication(*activity);
    }
    if source == Some(IAM_SOURCE) {
        if let Some((_, activity)) = ACCOUNT_CHANGES.iter().find(|(n, _)| *n == name) {
            return EventKind::AccountChange(*activity);
        }
        if STATUS_CHANGES.contains(&name) {
            return EventKind::AccountChange(match status {
                Some("Active") => 2,
                Some("Inactive") => 5,
                _ => 99,
            });
        }
    }
    EventKind::Api(verb_of(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_and_verbs() {
        assert_eq!(
            classify("ConsoleLogin", Some("signin.amazonaws.com"), None),
            EventKind::Authentication(AuthenticationActivity::Logon)
        );
        assert_eq!(
            classify("CreateUser", Some(IAM_SOURCE), None),
            EventKind::AccountChange(1)
        );
        assert_eq!(
            classify("CreateUser", Some("mq.amazonaws.com"), None),
            EventKind::Api(ApiVerb::Create)
        );
        assert_eq!(
            classify("UpdateAccessKey", Some(IAM_SOURCE), Some("Inactive")),
            EventKind::AccountChange(5)
        );
        assert_eq!(verb_of("DescribeInstances"), ApiVerb::Read);
        assert_eq!(verb_of("BatchGetItem"), ApiVerb::Read);
        assert_eq!(verb_of("Settle"), ApiVerb::Other);
        assert_eq!(verb_of("Get"), ApiVerb::Read);
        assert_eq!(verb_of("TerminateInstances"), ApiVerb::Delete);
        assert_eq!(verb_of("Frobnicate"), ApiVerb::Other);
    }
}
