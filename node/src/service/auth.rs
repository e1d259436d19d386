//! Who may call what: every client-facing RPC with the role it needs
//! ([`Rpc`]), and the bearer-token check each call starts with.

use tonic::{Request, Status};

use crate::{
    service::api::{RecordApi, blocking},
    store::tokens::{self, Bearer, Role},
};

/// Every RPC of the client-facing services (`NodeService`, `RecordService`,
/// `ViewService`, `AdminService`), so that each has a decided role: the
/// matches below are exhaustive, and a unit test checks this list against
/// the `.proto` files, so a new RPC cannot go without one. (`PeerService`
/// is for nodes, authenticated by their certificate against the roster.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rpc {
    /// `NodeService.GetInfo`.
    GetInfo,
    /// `RecordService.Create` (also what `focal import` calls).
    Create,
    /// `RecordService.Update`.
    Update,
    /// `RecordService.Get`.
    Get,
    /// `RecordService.List`.
    List,
    /// `RecordService.Delete`.
    Delete,
    /// `RecordService.History`.
    History,
    /// `RecordService.Watch`.
    Watch,
    /// `RecordService.Export`.
    Export,
    /// `ViewService.Directory`.
    Directory,
    /// `ViewService.NapTracker`.
    NapTracker,
    /// `ViewService.Practices`.
    Practices,
    /// `ViewService.Funding`.
    Funding,
    /// `ViewService.FollowUp`.
    FollowUp,
    /// `ViewService.Meeting`.
    Meeting,
    /// `AdminService.AddMember`.
    AddMember,
    /// `AdminService.GetRoster`.
    GetRoster,
    /// `AdminService.GetStatus`.
    GetStatus,
    /// `AdminService.ChangeMembership`.
    ChangeMembership,
}

impl Rpc {
    /// Every client-facing RPC.
    pub const ALL: [Rpc; 19] = [
        Rpc::GetInfo,
        Rpc::Create,
        Rpc::Update,
        Rpc::Get,
        Rpc::List,
        Rpc::Delete,
        Rpc::History,
        Rpc::Watch,
        Rpc::Export,
        Rpc::Directory,
        Rpc::NapTracker,
        Rpc::Practices,
        Rpc::Funding,
        Rpc::FollowUp,
        Rpc::Meeting,
        Rpc::AddMember,
        Rpc::GetRoster,
        Rpc::GetStatus,
        Rpc::ChangeMembership,
    ];

    /// The role a token needs for this RPC; `None`: no token at all.
    pub fn needs(self) -> Option<Role> {
        match self {
            // The node's member, key and versions: what a client checks
            // before it has a token (`focal info`, health checks).
            Rpc::GetInfo => None,
            Rpc::Get
            | Rpc::List
            | Rpc::History
            | Rpc::Watch
            | Rpc::Export
            | Rpc::Directory
            | Rpc::NapTracker
            | Rpc::Practices
            | Rpc::Funding
            | Rpc::FollowUp
            | Rpc::Meeting => Some(Role::Reader),
            Rpc::Create | Rpc::Update | Rpc::Delete => Some(Role::Editor),
            // The whole admin service: the roster's changes, and what an
            // administrator reads to run the network (who is in it, with
            // which keys; every peer's state and last error).
            Rpc::AddMember | Rpc::ChangeMembership | Rpc::GetRoster | Rpc::GetStatus => {
                Some(Role::Admin)
            }
        }
    }

    /// The gRPC service and method.
    pub fn path(self) -> (&'static str, &'static str) {
        let (service, method) = match self {
            Rpc::GetInfo => ("NodeService", "GetInfo"),
            Rpc::Create => ("RecordService", "Create"),
            Rpc::Update => ("RecordService", "Update"),
            Rpc::Get => ("RecordService", "Get"),
            Rpc::List => ("RecordService", "List"),
            Rpc::Delete => ("RecordService", "Delete"),
            Rpc::History => ("RecordService", "History"),
            Rpc::Watch => ("RecordService", "Watch"),
            Rpc::Export => ("RecordService", "Export"),
            Rpc::Directory => ("ViewService", "Directory"),
            Rpc::NapTracker => ("ViewService", "NapTracker"),
            Rpc::Practices => ("ViewService", "Practices"),
            Rpc::Funding => ("ViewService", "Funding"),
            Rpc::FollowUp => ("ViewService", "FollowUp"),
            Rpc::Meeting => ("ViewService", "Meeting"),
            Rpc::AddMember => ("AdminService", "AddMember"),
            Rpc::GetRoster => ("AdminService", "GetRoster"),
            Rpc::GetStatus => ("AdminService", "GetStatus"),
            Rpc::ChangeMembership => ("AdminService", "ChangeMembership"),
        };
        (service, method)
    }

    /// What the RPC does, for a refusal: "creating records needs …".
    fn action(self) -> &'static str {
        match self {
            Rpc::GetInfo => "describing the node",
            Rpc::Create => "creating (or importing) records",
            Rpc::Update => "editing records",
            Rpc::Delete => "deleting records",
            Rpc::Get | Rpc::List | Rpc::History => "reading records",
            Rpc::Watch => "watching records",
            Rpc::Export => "exporting records",
            Rpc::Directory
            | Rpc::NapTracker
            | Rpc::Practices
            | Rpc::Funding
            | Rpc::FollowUp
            | Rpc::Meeting => "reading views",
            Rpc::AddMember => "adding a member to the network (`focal admin member add`)",
            Rpc::ChangeMembership => {
                "changing the network's membership or keys (`focal admin member|key`)"
            }
            Rpc::GetRoster => "reading the roster (`focal admin roster`)",
            Rpc::GetStatus => "reading the replication status (`focal network peers`)",
        }
    }

    /// Whether `bearer` may call this RPC; the refusal says which role it
    /// needs, which the token has, and how to get the right one.
    pub fn permit(self, bearer: &Bearer) -> Result<(), Status> {
        match self.needs() {
            Some(needed) if !bearer.role.allows(needed) => Err(Status::permission_denied(format!(
                "this token ({}) is {}; {} needs {}: the node's operator creates one with \
                     `focal-node token create --name NAME --role {needed}`",
                bearer.name,
                bearer.role.with_article(),
                self.action(),
                needed.at_least(),
            ))),
            _ => Ok(()),
        }
    }
}

impl RecordApi {
    /// Checks the request's bearer token and that its role allows `rpc`;
    /// returns the token.
    pub(crate) async fn authorize<T>(
        &self,
        request: &Request<T>,
        rpc: Rpc,
    ) -> Result<Bearer, Status> {
        let bearer = self.authenticate(request).await?;
        // A token that tries what its role does not allow is worth a line
        // (a dashboard's token used to administer, say), but its holder
        // decides how often: a few lines a minute.
        static REFUSED: crate::base::lograte::LogBudget =
            crate::base::lograte::LogBudget::per_minute(10);
        rpc.permit(&bearer).inspect_err(|_| {
            if let Some(suppressed) = REFUSED.admit() {
                let (service, method) = rpc.path();
                tracing::warn!(token = %bearer.name, role = %bearer.role, service, method, suppressed, "refused a request the token's role does not allow");
            }
        })?;
        Ok(bearer)
    }

    /// Checks the request's bearer token; returns the token's name and role.
    async fn authenticate<T>(&self, request: &Request<T>) -> Result<Bearer, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .ok_or_else(|| {
                Status::unauthenticated(
                    "no token: pass --token (or FOCAL_TOKEN); the node's operator creates one \
                     with `focal-node token create --name NAME`",
                )
            })?
            .to_str()
            .map_err(|_| Status::unauthenticated("the authorization header is not text"))?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or_else(|| {
                Status::unauthenticated("the authorization header must be `Bearer TOKEN`")
            })?
            .to_owned();
        let reader = self.reader.clone();
        let bearer = blocking(move || {
            reader.with(|conn| {
                tokens::check(conn, &token)
                    .map_err(|e| crate::store::ReadError::Database(e.to_string()))
            })
        })
        .await?;
        bearer.ok_or_else(|| Status::unauthenticated("the token is not valid (unknown or revoked)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The services of the `.proto` files and their RPCs, read from the
    /// files the node is built from.
    fn proto_rpcs() -> Vec<(String, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../proto/focal/v1");
        let mut rpcs = Vec::new();
        for file in std::fs::read_dir(&dir).unwrap() {
            let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
            let mut service = None;
            for line in text.lines().map(str::trim) {
                if let Some(rest) = line.strip_prefix("service ") {
                    service = rest.split_whitespace().next().map(str::to_owned);
                } else if let Some(rest) = line.strip_prefix("rpc ") {
                    let method = rest.split('(').next().unwrap().trim().to_owned();
                    rpcs.push((service.clone().expect("an rpc inside a service"), method));
                }
            }
        }
        rpcs.sort();
        rpcs
    }

    #[test]
    fn every_client_rpc_has_a_role() {
        let mut table: Vec<(String, String)> = Rpc::ALL
            .iter()
            .map(|rpc| {
                let (service, method) = rpc.path();
                (service.to_owned(), method.to_owned())
            })
            .collect();
        table.sort();
        let client_facing: Vec<(String, String)> = proto_rpcs()
            .into_iter()
            // Nodes, authenticated by their certificate against the roster.
            .filter(|(service, _)| service != "PeerService")
            .collect();
        assert_eq!(
            table, client_facing,
            "api::Rpc must list exactly the client-facing RPCs of the .proto files"
        );
    }

    fn bearer(role: Role) -> Bearer {
        Bearer {
            name: "dashboard".into(),
            role,
        }
    }

    #[test]
    fn roles_allow_reads_writes_and_administration() {
        for rpc in Rpc::ALL {
            let needed = rpc.needs();
            for role in [Role::Reader, Role::Editor, Role::Admin] {
                let allowed = needed.is_none_or(|n| role >= n);
                assert_eq!(rpc.permit(&bearer(role)).is_ok(), allowed, "{rpc:?} {role}");
            }
        }
        for rpc in [Rpc::Create, Rpc::Update, Rpc::Delete] {
            assert_eq!(rpc.needs(), Some(Role::Editor), "{rpc:?}");
        }
        for rpc in Rpc::ALL.iter().filter(|r| r.path().0 == "AdminService") {
            assert_eq!(rpc.needs(), Some(Role::Admin), "{rpc:?}");
        }
        for rpc in Rpc::ALL.iter().filter(|r| r.path().0 == "ViewService") {
            assert_eq!(rpc.needs(), Some(Role::Reader), "{rpc:?}");
        }
    }

    #[test]
    fn a_refusal_names_both_roles() {
        let refused = Rpc::Create.permit(&bearer(Role::Reader)).unwrap_err();
        assert_eq!(refused.code(), tonic::Code::PermissionDenied);
        assert_eq!(
            refused.message(),
            "this token (dashboard) is a reader; creating (or importing) records needs an \
             editor or admin token: the node's operator creates one with `focal-node token \
             create --name NAME --role editor`"
        );
        let refused = Rpc::ChangeMembership
            .permit(&bearer(Role::Editor))
            .unwrap_err();
        assert!(
            refused
                .message()
                .starts_with("this token (dashboard) is an editor; changing the network's"),
            "{}",
            refused.message()
        );
        assert!(refused.message().ends_with("--role admin`"));
    }
}
