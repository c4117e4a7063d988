//! Roles and permissions: the one place that says who may do what.

use serde::{Deserialize, Serialize};

/// A staff member's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Handles cases and clients (ügyintéző).
    Clerk,
    /// Administers the tenant: staff, configuration, audit.
    Admin,
    /// Runs the deployment: tenants, jobs.
    Operator,
}

/// Something a staff member may be allowed to do. Serialised in snake_case (`read_clients`),
/// the names `/me` lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// See the tenant's overview page.
    ViewOverview,
    /// Read clients' personal data.
    ReadClients,
    /// Create and change clients.
    WriteClients,
    /// Create and change staff accounts.
    ManageStaff,
    /// Browse and verify the audit log.
    ViewAudit,
    /// See and retry background jobs.
    ManageJobs,
    /// List, create and change tenants.
    ManageTenants,
    /// Read the case types' definitions and versions.
    ViewCaseTypes,
    /// Save new versions of case types.
    ManageCaseTypes,
    /// Handle cases: the worklist, assigning, asking for information, deciding.
    HandleCases,
    /// Register relying parties of the tenant's OpenID Provider and rotate its keys.
    ManageRelyingParties,
    /// Install, configure and remove the tenant's plugins and read their failed calls.
    ManagePlugins,
    /// See which years the deployment's working-day calendar has a decree for.
    ViewCalendar,
}

impl Permission {
    /// Every permission, in declaration order (the order `/me` lists them in).
    pub const ALL: [Permission; 13] = [
        Self::ViewOverview,
        Self::ReadClients,
        Self::WriteClients,
        Self::ManageStaff,
        Self::ViewAudit,
        Self::ManageJobs,
        Self::ManageTenants,
        Self::ViewCaseTypes,
        Self::ManageCaseTypes,
        Self::HandleCases,
        Self::ManageRelyingParties,
        Self::ManagePlugins,
        Self::ViewCalendar,
    ];
}

impl Role {
    /// Parses the stored value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "clerk" => Some(Self::Clerk),
            "admin" => Some(Self::Admin),
            "operator" => Some(Self::Operator),
            _ => None,
        }
    }

    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Clerk => "clerk",
            Self::Admin => "admin",
            Self::Operator => "operator",
        }
    }

    /// Whether this role may do `p`.
    pub fn permits(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Self::Clerk => matches!(p, ViewOverview | ReadClients | WriteClients | ViewCaseTypes | HandleCases),
            Self::Admin => matches!(
                p,
                ViewOverview
                    | ReadClients
                    | WriteClients
                    | ManageStaff
                    | ViewAudit
                    | ManageJobs
                    | ViewCaseTypes
                    | ManageCaseTypes
                    | HandleCases
                    | ManageRelyingParties
                    | ManagePlugins
            ),
            Self::Operator => matches!(p, ManageTenants | ManageJobs | ViewCalendar),
        }
    }

    /// Everything this role may do, in [`Permission::ALL`]'s order.
    pub fn permissions(self) -> impl Iterator<Item = Permission> {
        Permission::ALL.into_iter().filter(move |p| self.permits(*p))
    }

    /// Whether this role must use a second factor.
    pub fn requires_totp(self) -> bool {
        matches!(self, Self::Admin | Self::Operator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_table() {
        assert!(Role::Clerk.permits(Permission::ReadClients));
        assert!(!Role::Clerk.permits(Permission::ViewAudit));
        assert!(!Role::Clerk.permits(Permission::ManageStaff));
        assert!(Role::Admin.permits(Permission::ViewAudit));
        assert!(!Role::Admin.permits(Permission::ManageTenants));
        assert!(Role::Operator.permits(Permission::ManageTenants));
        assert!(!Role::Operator.permits(Permission::ReadClients));
        assert!(Role::Clerk.permits(Permission::ViewCaseTypes));
        assert!(!Role::Clerk.permits(Permission::ManageCaseTypes));
        assert!(Role::Admin.permits(Permission::ManageCaseTypes));
        assert!(!Role::Operator.permits(Permission::ViewCaseTypes));
        assert!(Role::Admin.permits(Permission::ManagePlugins));
        assert!(!Role::Clerk.permits(Permission::ManagePlugins));
        assert!(!Role::Operator.permits(Permission::ManagePlugins));
        assert!(Role::Operator.permits(Permission::ViewCalendar));
        assert!(!Role::Admin.permits(Permission::ViewCalendar));
        assert!(!Role::Clerk.requires_totp());
        assert!(Role::Admin.requires_totp());
    }

    /// A permission's place in [`Permission::ALL`]. An exhaustive match, so that a new variant
    /// does not compile (the tests, which clippy --all-targets builds) until it has a place.
    const fn index(p: Permission) -> usize {
        match p {
            Permission::ViewOverview => 0,
            Permission::ReadClients => 1,
            Permission::WriteClients => 2,
            Permission::ManageStaff => 3,
            Permission::ViewAudit => 4,
            Permission::ManageJobs => 5,
            Permission::ManageTenants => 6,
            Permission::ViewCaseTypes => 7,
            Permission::ManageCaseTypes => 8,
            Permission::HandleCases => 9,
            Permission::ManageRelyingParties => 10,
            Permission::ManagePlugins => 11,
            Permission::ViewCalendar => 12,
        }
    }

    #[test]
    fn all_lists_every_permission_once() {
        for (i, p) in Permission::ALL.into_iter().enumerate() {
            assert_eq!(index(p), i, "{p:?} is out of place in Permission::ALL");
        }
        let clerk: Vec<_> = Role::Clerk.permissions().collect();
        assert_eq!(
            clerk,
            [
                Permission::ViewOverview,
                Permission::ReadClients,
                Permission::WriteClients,
                Permission::ViewCaseTypes,
                Permission::HandleCases
            ]
        );
        assert_eq!(
            Role::Operator.permissions().collect::<Vec<_>>(),
            [Permission::ManageJobs, Permission::ManageTenants, Permission::ViewCalendar]
        );
    }
}
