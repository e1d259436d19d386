//! `focal.v1.RecordService`: the client API, and the only place that knows
//! its wire types. Requests are authenticated with a bearer token,
//! authorized by the token's role ([`Rpc`]: the role every client-facing RPC
//! needs), converted to domain requests, and handed to the writer or the
//! reader.

use std::pin::Pin;

use focal_proto::v1::{
    self as pb,
    admin_service_server::{AdminService, AdminServiceServer},
    record_service_server::{RecordService, RecordServiceServer},
};
use serde_json::{Map, Value};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::{Stream, wrappers::ReceiverStream};
use tonic::{Request, Response, Status};

use crate::{
    engine::writer::{WriteRequest, Writer},
    member::MemberCode,
    records::{RecordType, Visibility},
    service::status::ToStatus,
    store::query::{ListFilter, PageRequest, Reader},
    store::tokens::{self, Bearer, Role},
    store::{ReadError, RecordRow},
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

/// The client API of one node.
#[derive(Clone)]
pub struct RecordApi {
    writer: Writer,
    reader: Reader,
    member: MemberCode,
    stop: watch::Receiver<bool>,
    network: NetworkFacts,
    /// The largest message this API sends (`server.max_message_bytes`):
    /// pages and export messages are cut to fit.
    max_message_bytes: usize,
}

/// What the admin API tells a joining member.
#[derive(Debug, Clone, Default)]
pub struct NetworkFacts {
    /// The network id, if this node is in one.
    pub network_id: Option<String>,
    /// The secretariat's key.
    pub secretariat_key: Option<String>,
    /// Where this node is reached.
    pub endpoints: Vec<String>,
    /// The roster, to answer GetRoster.
    pub roster: crate::roster::SharedRoster,
    /// The status file the node keeps current.
    pub status_file: std::path::PathBuf,
    /// This node's key (hex).
    pub node_key: String,
}

impl RecordApi {
    /// The API.
    pub fn new(
        writer: Writer,
        reader: Reader,
        member: MemberCode,
        stop: watch::Receiver<bool>,
        network: NetworkFacts,
    ) -> Self {
        Self {
            writer,
            reader,
            member,
            stop,
            network,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }

    /// The record service, ready to add to a tonic router; it sends and
    /// accepts messages of at most `max_message_bytes`.
    pub fn service(mut self, max_message_bytes: usize) -> RecordServiceServer<Self> {
        self.max_message_bytes = max_message_bytes;
        RecordServiceServer::new(self)
            .max_decoding_message_size(max_message_bytes)
            .max_encoding_message_size(max_message_bytes)
    }

    /// The admin service.
    pub fn admin_service(self) -> AdminServiceServer<Self> {
        AdminServiceServer::new(self)
    }

    /// Refuses roster changes on a node that does not hold the current
    /// anchor key (before looking at what the change is).
    fn check_anchor(&self) -> Result<(), Status> {
        let anchor = self.network.roster.read().ok().and_then(|r| r.anchor());
        if anchor.map(|a| a.to_string()) != Some(self.network.node_key.clone()) {
            return Err(Status::failed_precondition(
                "only the secretariat's node changes the roster (the node holding the current \
                 anchor key)",
            ));
        }
        Ok(())
    }

    /// Marks a record whose owner is suspended or removed.
    fn marked(&self, record: pb::Record) -> pb::Record {
        marked(record, &self.network.roster, &self.member)
    }

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

#[tonic::async_trait]
impl AdminService for RecordApi {
    async fn add_member(
        &self,
        request: Request<pb::AddMemberRequest>,
    ) -> Result<Response<pb::AddMemberResponse>, Status> {
        self.authorize(&request, Rpc::AddMember).await?;
        let req = request.into_inner();
        let member: MemberCode =
            req.member
                .parse()
                .map_err(|e: crate::member::InvalidMemberCode| {
                    Status::invalid_argument(e.to_string())
                })?;
        let key = crate::identity::NodeId::from_hex(&req.node_key).ok_or_else(|| {
            Status::invalid_argument(format!(
                "`{}` is not a node key (64 hex digits)",
                req.node_key
            ))
        })?;
        let endpoint = req.endpoint.trim();
        if focal_client::transport::check_address(endpoint).is_err() {
            return Err(Status::invalid_argument(format!(
                "endpoint `{endpoint}` is not host:port"
            )));
        }
        let (Some(network_id), Some(secretariat_key)) =
            (&self.network.network_id, &self.network.secretariat_key)
        else {
            return Err(Status::failed_precondition(
                "this node is not the secretariat of a network (run `focal-node init --secretariat`)",
            ));
        };
        self.check_anchor()?;
        {
            let roster = self
                .network
                .roster
                .read()
                .map_err(|_| Status::internal("the roster lock is poisoned"))?;
            crate::engine::membership::check_new_key(&roster, member.as_str(), &key)
                .map_err(|e| Status::invalid_argument(e.to_string()))?;
        }
        self.writer
            .change_roster(crate::roster::add_member_patch(&member, &key, endpoint))
            .await
            .map_err(ToStatus::to_status)?;
        tracing::info!(%member, node_key = %key, endpoint, "member added to the roster");
        Ok(Response::new(pb::AddMemberResponse {
            network_id: network_id.clone(),
            secretariat_key: secretariat_key.clone(),
            secretariat_endpoints: self.network.endpoints.clone(),
        }))
    }

    async fn get_roster(
        &self,
        request: Request<pb::GetRosterRequest>,
    ) -> Result<Response<pb::GetRosterResponse>, Status> {
        self.authorize(&request, Rpc::GetRoster).await?;
        let roster = self
            .network
            .roster
            .read()
            .map(|r| r.clone())
            .unwrap_or_default();
        let members: serde_json::Map<String, Value> = roster
            .members
            .iter()
            .map(|(code, m)| {
                (
                    code.clone(),
                    serde_json::json!({
                        "status": m.status,
                        "keys": m.keys.iter().map(|(k, v)| {
                            let text = match &v.last {
                                Some(last) if v.status != crate::roster::KeyStatus::Active => format!(
                                    "{} (last valid: network {}, secretariat {})",
                                    v.status, last.network, last.secretariat
                                ),
                                _ => v.status.as_str().to_owned(),
                            };
                            (k.clone(), Value::String(text))
                        }).collect::<serde_json::Map<_, _>>(),
                        "endpoints": m.endpoints,
                    }),
                )
            })
            .collect();
        Ok(Response::new(pb::GetRosterResponse {
            json: Value::Object(members).to_string(),
        }))
    }

    async fn change_membership(
        &self,
        request: Request<pb::ChangeMembershipRequest>,
    ) -> Result<Response<pb::ChangeMembershipResponse>, Status> {
        use crate::engine::membership::{Change, RefusedChange};
        use pb::change_membership_request::Change as Wire;
        self.authorize(&request, Rpc::ChangeMembership).await?;
        let Some(network_id) = self.network.network_id.clone() else {
            return Err(Status::failed_precondition(
                "this node is not the secretariat of a network (run `focal-node init --secretariat`)",
            ));
        };
        self.check_anchor()?;
        let change = match request.into_inner().change {
            None => return Err(Status::invalid_argument("no change given")),
            Some(Wire::Suspend(m)) => Change::Suspend(m),
            Some(Wire::Readmit(m)) => Change::Readmit(m),
            Some(Wire::Remove(m)) => Change::Remove(m),
            Some(Wire::SetEndpoints(e)) => Change::SetEndpoints(
                e.member,
                e.endpoints.iter().map(|s| s.trim().to_owned()).collect(),
            ),
            Some(Wire::RevokeKey(r)) => Change::Revoke {
                key: crate::identity::NodeId::from_hex(&r.node_key).ok_or_else(|| {
                    Status::invalid_argument(format!(
                        "`{}` is not a node key (64 hex digits)",
                        r.node_key
                    ))
                })?,
                last_network: r.last_network,
                last_secretariat: r.last_secretariat,
            },
            Some(Wire::ConfirmHandover(h)) => Change::ConfirmHandover(h),
        };
        let roster = self
            .network
            .roster
            .read()
            .map(|r| r.clone())
            .map_err(|_| Status::internal("the roster lock is poisoned"))?;
        let reader = self.reader.clone();
        let hash_at = move |origin: crate::identity::NodeId,
                            audience: crate::log::Audience,
                            seq: u64|
              -> Option<crate::log::EntryHash> {
            reader
                .entry_hashes(&[(origin, audience, seq)])
                .ok()
                .and_then(|hashes| hashes.into_iter().next().flatten())
        };
        let planned = crate::engine::membership::plan(
            change,
            &roster,
            &self.writer.version_vector(),
            &hash_at,
            &network_id,
        )
        .map_err(|e| match e {
            RefusedChange::Invalid(m) => Status::invalid_argument(m),
            RefusedChange::NotFound(m) => Status::not_found(m),
        })?;
        self.writer
            .change_roster(planned.patch)
            .await
            .map_err(ToStatus::to_status)?;
        tracing::info!(summary = %planned.summary, "membership changed");
        Ok(Response::new(pb::ChangeMembershipResponse {
            summary: planned.summary,
            next: planned.next,
        }))
    }

    async fn get_status(
        &self,
        request: Request<pb::GetStatusRequest>,
    ) -> Result<Response<pb::GetStatusResponse>, Status> {
        self.authorize(&request, Rpc::GetStatus).await?;
        let json = tokio::fs::read_to_string(&self.network.status_file)
            .await
            .map_err(|e| Status::unavailable(format!("no status yet: {e}")))?;
        Ok(Response::new(pb::GetStatusResponse { json }))
    }
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl RecordService for RecordApi {
    async fn create(
        &self,
        request: Request<pb::CreateRequest>,
    ) -> Result<Response<pb::Record>, Status> {
        self.authorize(&request, Rpc::Create).await?;
        let req = request.into_inner();
        let kind = parse_type(&req.r#type)?;
        let visibility = if req.visibility.is_empty() {
            Visibility::Network
        } else {
            Visibility::parse(&req.visibility).ok_or_else(|| {
                Status::invalid_argument(format!(
                    "visibility `{}` is not one of network, secretariat, local",
                    req.visibility
                ))
            })?
        };
        let fields = parse_object(&req.fields_json, "fields_json")?;
        let row = self
            .writer
            .write(WriteRequest::Create {
                kind,
                fields,
                visibility,
                language: req.language,
                request_id: (!req.request_id.is_empty()).then_some(req.request_id),
            })
            .await
            .map_err(ToStatus::to_status)?;
        Ok(Response::new(to_proto(row)))
    }

    async fn update(
        &self,
        request: Request<pb::UpdateRequest>,
    ) -> Result<Response<pb::Record>, Status> {
        self.authorize(&request, Rpc::Update).await?;
        let req = request.into_inner();
        let patch = parse_object(&req.patch_json, "patch_json")?;
        let row = self
            .writer
            .write(WriteRequest::Update {
                id: req.id,
                patch,
                language: req.language,
            })
            .await
            .map_err(ToStatus::to_status)?;
        Ok(Response::new(to_proto(row)))
    }

    async fn get(&self, request: Request<pb::GetRequest>) -> Result<Response<pb::Record>, Status> {
        self.authorize(&request, Rpc::Get).await?;
        let id = request.into_inner().id;
        let reader = self.reader.clone();
        let lookup = id.clone();
        let row = blocking(move || reader.get(&lookup)).await?;
        row.map(|row| Response::new(self.marked(to_proto(row))))
            .ok_or_else(|| Status::not_found(format!("no record {id}")))
    }

    async fn list(
        &self,
        request: Request<pb::ListRequest>,
    ) -> Result<Response<pb::ListResponse>, Status> {
        self.authorize(&request, Rpc::List).await?;
        let req = request.into_inner();
        let nonempty = |s: String| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        let filter = ListFilter {
            kind: match nonempty(req.r#type) {
                Some(t) => Some(parse_type(&t)?),
                None => None,
            },
            theme: nonempty(req.theme),
            status: nonempty(req.status),
            search: nonempty(req.search),
            owner: nonempty(req.owner),
            include_deleted: req.include_deleted,
        };
        let page = PageRequest {
            after: req.after,
            offset: req.offset,
            limit: req.limit,
            max_bytes: rows_budget(self.max_message_bytes),
        };
        let by_offset = page.after.trim().is_empty();
        let offset = page.offset;
        let reader = self.reader.clone();
        let mut listed = blocking(move || reader.list(&filter, &page)).await?;
        let records: Vec<pb::Record> = listed
            .records
            .iter()
            .map(|row| self.marked(to_proto(row.clone())))
            .collect();
        let sizes: Vec<usize> = records.iter().map(framed_len).collect();
        let total = listed.total.unwrap_or(0);
        let response = fit(
            self.max_message_bytes,
            records.len(),
            |n| {
                listed.records.truncate(n);
                let next = listed.next();
                pb::ListResponse {
                    records: records[..n].to_vec(),
                    next_offset: match &next {
                        Some(_) if by_offset => offset.saturating_add(n as u32),
                        _ => 0,
                    },
                    total,
                    next: next.map(|c| c.encode()).unwrap_or_default(),
                }
            },
            |i| sizes[i],
            || {
                format!(
                    "record {}",
                    records.first().map(|r| r.id.as_str()).unwrap_or_default()
                )
            },
        )?;
        Ok(Response::new(response))
    }

    async fn delete(
        &self,
        request: Request<pb::DeleteRequest>,
    ) -> Result<Response<pb::Record>, Status> {
        self.authorize(&request, Rpc::Delete).await?;
        let id = request.into_inner().id;
        let row = self
            .writer
            .write(WriteRequest::Delete { id })
            .await
            .map_err(ToStatus::to_status)?;
        Ok(Response::new(to_proto(row)))
    }

    async fn history(
        &self,
        request: Request<pb::HistoryRequest>,
    ) -> Result<Response<pb::HistoryResponse>, Status> {
        self.authorize(&request, Rpc::History).await?;
        let id = request.into_inner().id;
        let reader = self.reader.clone();
        let lookup = id.clone();
        let (exists, items) =
            blocking(move || Ok::<_, ReadError>((reader.get(&lookup)?, reader.history(&lookup)?)))
                .await?;
        let record = exists.ok_or_else(|| Status::not_found(format!("no record {id}")))?;
        let entries = items
            .into_iter()
            .map(|item| pb::HistoryEntry {
                time: time::OffsetDateTime::from_unix_timestamp(item.time)
                    .ok()
                    .and_then(|t| {
                        t.format(&time::format_description::well_known::Rfc3339)
                            .ok()
                    })
                    .unwrap_or_default(),
                signer: item.signer.to_string(),
                member: record.owner.clone(),
                seq: item.seq,
                audience: item.audience.to_owned(),
                action: item.action,
                fields: item.fields,
                change_hash: item.change_hash,
            })
            .collect();
        Ok(Response::new(pb::HistoryResponse { entries }))
    }

    type WatchStream = BoxStream<pb::RecordEvent>;

    async fn watch(
        &self,
        request: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        self.authorize(&request, Rpc::Watch).await?;
        let wanted = match request.into_inner().r#type.trim() {
            "" => None,
            t => Some(parse_type(t)?),
        };
        let mut events = self.writer.subscribe();
        let mut stop = self.stop.clone();
        let (roster, member) = (self.network.roster.clone(), self.member.clone());
        let reader = self.reader.clone();
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    () = crate::base::shutdown::stopped(&mut stop) => break,
                    event = events.recv() => event,
                };
                let item = match event {
                    Ok(event) => {
                        let Some(record) = as_read(&reader, event.record).await else {
                            continue;
                        };
                        if wanted.is_some_and(|w| w != record.kind) {
                            continue;
                        }
                        Ok(pb::RecordEvent {
                            action: event.action.to_owned(),
                            record: Some(marked(to_proto(record), &roster, &member)),
                        })
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => Err(Status::data_loss(format!(
                        "this watch fell {n} changes behind; list again and start a new watch"
                    ))),
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                let last = item.is_err();
                if tx.send(item).await.is_err() || last {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    type ExportStream = BoxStream<pb::ExportedRecord>;

    async fn export(
        &self,
        request: Request<pb::ExportRequest>,
    ) -> Result<Response<Self::ExportStream>, Status> {
        self.authorize(&request, Rpc::Export).await?;
        let reader = self.reader.clone();
        let member = self.member.to_string();
        let max = self.max_message_bytes;
        // A few messages in flight: each may be as large as the cap.
        let (tx, rx) = mpsc::channel(4);
        tokio::task::spawn_blocking(move || {
            // Records in batches of ids, oldest first; one document in
            // memory at a time.
            let mut after = None;
            loop {
                let batch = match reader.owned_after(&member, after.as_ref(), EXPORT_BATCH) {
                    Ok(batch) => batch,
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e.to_status()));
                        return;
                    }
                };
                for (_, id) in &batch {
                    let (row, automerge) = match reader.export(id) {
                        Ok(Some(exported)) => exported,
                        Ok(None) => continue,
                        Err(e) => {
                            let _ = tx.blocking_send(Err(e.to_status()));
                            return;
                        }
                    };
                    let sent = export_parts(to_proto(row), automerge, max, |part| {
                        tx.blocking_send(Ok(part)).is_ok()
                    });
                    match sent {
                        Ok(true) => {}
                        Ok(false) => return,
                        Err(refused) => {
                            let _ = tx.blocking_send(Err(refused));
                            return;
                        }
                    }
                }
                match batch.last() {
                    Some(last) if batch.len() == EXPORT_BATCH => after = Some(last.clone()),
                    _ => return,
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// Records whose ids an export reads at once.
const EXPORT_BATCH: usize = 256;

/// The message cap when the server does not say (`server.max_message_bytes`'s
/// default).
const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// Room kept in a page's message for what is not its rows (the cursor, the
/// counts, a view's summaries); [`fit`] cuts the page if they take more.
const PAGE_RESERVE: usize = 64 * 1024;

/// The bytes of rows a page may hold in a message of at most `max`.
pub(crate) fn rows_budget(max: usize) -> usize {
    max.saturating_sub(PAGE_RESERVE).max(1)
}

/// The bytes a message takes as an item of a repeated field (tag, length,
/// message).
pub(crate) fn framed_len<M: prost::Message>(message: &M) -> usize {
    let len = message.encoded_len();
    1 + prost::encoding::encoded_len_varint(len as u64) + len
}

/// The message `build(n)` makes of a page's first `n` rows, with `n` as
/// large as fits in `max` bytes (`row_len(i)`: the bytes of row `i` in it).
/// The page's estimate is an upper bound of its rows, but what else the
/// message holds (a view's summaries) is not: so the page is measured
/// exactly here, at the boundary, and cut shorter if it must (`build` then
/// points the cursor at the new last row). A message over `max` with one
/// row (or none) is refused, naming what is too large (`what`): a record
/// cannot be, since the writer bounds records well under the cap, unless
/// the cap was lowered below the records already held.
pub(crate) fn fit<M: prost::Message>(
    max: usize,
    rows: usize,
    mut build: impl FnMut(usize) -> M,
    row_len: impl Fn(usize) -> usize,
    what: impl FnOnce() -> String,
) -> Result<M, Status> {
    let mut n = rows;
    loop {
        let message = build(n);
        let len = message.encoded_len();
        if len <= max {
            return Ok(message);
        }
        if n <= 1 {
            return Err(Status::failed_precondition(format!(
                "{} takes {len} bytes in a message, more than this node sends at once \
                 (server.max_message_bytes = {max}): raise server.max_message_bytes in the \
                 node's focal.toml",
                what()
            )));
        }
        let mut cut = 0;
        while n > 1 && cut < len - max {
            n -= 1;
            cut += row_len(n);
        }
    }
}

/// Sends one exported record through `send` in messages of at most `max`
/// bytes: the record with its document if they fit together, else the
/// record with the document's first bytes, then the rest in parts, each
/// marked `more` but the last. Returns whether every part was sent (false:
/// the client went away); a record too large to travel even alone is
/// refused.
fn export_parts(
    record: pb::Record,
    automerge: Vec<u8>,
    max: usize,
    mut send: impl FnMut(pb::ExportedRecord) -> bool,
) -> Result<bool, Status> {
    use prost::Message as _;
    // A `bytes` field of n bytes takes at most n + 6 (tag, length), a set
    // `more` 2.
    const FRAMING: usize = 6 + 2;
    let head = pb::ExportedRecord {
        record: Some(record),
        automerge: Vec::new(),
        more: true,
    };
    let head_len = head.encoded_len();
    if head_len + automerge.len() + FRAMING <= max {
        return Ok(send(pb::ExportedRecord {
            automerge,
            more: false,
            ..head
        }));
    }
    if head_len + FRAMING > max {
        return Err(Status::failed_precondition(format!(
            "record {} takes {head_len} bytes in a message, more than this node sends at once \
             (server.max_message_bytes = {max}): raise server.max_message_bytes in the node's \
             focal.toml",
            head.record
                .as_ref()
                .map(|r| r.id.as_str())
                .unwrap_or_default()
        )));
    }
    let mut rest = &automerge[..];
    let first = rest.len().min(max - head_len - FRAMING);
    let mut part = pb::ExportedRecord {
        automerge: rest[..first].to_vec(),
        ..head
    };
    rest = &rest[first..];
    loop {
        part.more = !rest.is_empty();
        let last = !part.more;
        if !send(part) {
            return Ok(false);
        }
        if last {
            return Ok(true);
        }
        let n = rest.len().min(max - FRAMING);
        part = pb::ExportedRecord {
            record: None,
            automerge: rest[..n].to_vec(),
            more: false,
        };
        rest = &rest[n..];
    }
}

async fn blocking<T: Send + 'static, E: ToStatus + Send + 'static>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Status::internal(format!("read task failed: {e}")))?
        .map_err(ToStatus::to_status)
}

fn parse_type(text: &str) -> Result<RecordType, Status> {
    RecordType::parse(text.trim()).ok_or_else(|| {
        let all: Vec<_> = RecordType::ALL.iter().map(|t| t.as_str()).collect();
        Status::invalid_argument(format!(
            "`{text}` is not a record type; use one of: {}",
            all.join(", ")
        ))
    })
}

fn parse_object(json: &str, what: &str) -> Result<Map<String, Value>, Status> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Status::invalid_argument(format!(
            "{what} must be a JSON object"
        ))),
        Err(e) => Err(Status::invalid_argument(format!(
            "{what} is not valid JSON: {e}"
        ))),
    }
}

/// A changed record as clients read it: a focal point with its contact
/// details (read again: they may have changed in their companion), the focal
/// point for a change of its contact details, `None` if it cannot be read.
async fn as_read(reader: &Reader, row: RecordRow) -> Option<RecordRow> {
    let id = match row.kind {
        RecordType::FocalPoint => row.id.clone(),
        RecordType::FocalPointContact => crate::records::focal_point::focal_point_of(&row.id)?,
        _ => return Some(row),
    };
    let reader = reader.clone();
    blocking(move || reader.get(&id)).await.ok().flatten()
}

/// What a client of `member`'s node is shown of a record: its owner's
/// standing if it is not active, and a focal point's contact details only
/// where `focal_point::contact_shown` allows.
fn marked(
    mut record: pb::Record,
    roster: &crate::roster::SharedRoster,
    member: &MemberCode,
) -> pb::Record {
    if let Ok(roster) = roster.read()
        && let Some(status) = roster.member_status(&record.owner)
        && status != crate::roster::MemberStatus::Active
    {
        record.owner_standing = status.as_str().to_owned();
    }
    if record.r#type == RecordType::FocalPoint.as_str()
        && !crate::records::focal_point::contact_shown(member.as_str(), &record.owner)
        && let Ok(Value::Object(mut json)) = serde_json::from_str::<Value>(&record.json)
        && json.remove("contact").is_some()
    {
        record.json = Value::Object(json).to_string();
    }
    record
}

/// Converts a projection row to its wire form.
pub fn to_proto(row: RecordRow) -> pb::Record {
    pb::Record {
        id: row.id,
        r#type: row.kind.as_str().to_owned(),
        owner: row.owner,
        visibility: row.visibility.as_str().to_owned(),
        created: row.created,
        updated: row.updated,
        deleted: row.deleted,
        title: row.title,
        json: row.json,
        heads: row.heads,
        owner_standing: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, json_bytes: usize) -> pb::Record {
        pb::Record {
            id: id.to_owned(),
            r#type: "practice".into(),
            json: "x".repeat(json_bytes),
            ..Default::default()
        }
    }

    /// Every part `export_parts` sends for a record and a document.
    fn parts(json_bytes: usize, doc: &[u8], max: usize) -> Vec<pb::ExportedRecord> {
        use prost::Message as _;
        let mut sent = Vec::new();
        let done = export_parts(
            record("ESP:practice:a", json_bytes),
            doc.to_vec(),
            max,
            |p| {
                assert!(p.encoded_len() <= max, "{} > {max}", p.encoded_len());
                sent.push(p);
                true
            },
        )
        .unwrap();
        assert!(done);
        sent
    }

    #[test]
    fn an_exported_record_near_the_cap_travels_in_parts_each_within_it() {
        let max = 64 * 1024;
        let doc: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
        // Small: one message.
        let one = parts(100, &doc[..1000], max);
        assert_eq!(one.len(), 1);
        assert!(!one[0].more);
        assert_eq!(one[0].automerge, &doc[..1000]);
        // A record near the cap and a document of twice the cap: the
        // record with the first bytes, then parts, `more` but the last.
        for json in [10, max - 200, max - 60] {
            let sent = parts(json, &doc, max);
            assert!(sent.len() >= 3, "{}", sent.len());
            assert!(sent[0].record.is_some());
            assert!(sent[1..].iter().all(|p| p.record.is_none()));
            assert!(sent[..sent.len() - 1].iter().all(|p| p.more));
            assert!(!sent[sent.len() - 1].more);
            let whole: Vec<u8> = sent.iter().flat_map(|p| p.automerge.clone()).collect();
            assert_eq!(whole, doc, "the parts make the document");
        }
        // A record over the cap by itself: refused, named.
        let err = export_parts(record("ESP:practice:big", max), doc, max, |_| true).unwrap_err();
        assert_eq!(err.code(), tonic::Code::FailedPrecondition);
        assert!(err.message().contains("record ESP:practice:big"), "{err}");
        assert!(err.message().contains("server.max_message_bytes"), "{err}");
    }

    #[test]
    fn a_page_is_cut_to_the_message_cap_but_keeps_one_row() {
        use prost::Message as _;
        let rows: Vec<pb::Record> = (0..10).map(|i| record(&format!("r{i}"), 1000)).collect();
        let sizes: Vec<usize> = rows.iter().map(framed_len).collect();
        let build = |n: usize| pb::ListResponse {
            records: rows[..n].to_vec(),
            next: if n < rows.len() {
                "c".repeat(100)
            } else {
                String::new()
            },
            ..Default::default()
        };
        let whole = build(10).encoded_len();
        let fitted = fit(whole, 10, build, |i| sizes[i], || "x".into()).unwrap();
        assert_eq!(fitted.records.len(), 10, "it fits: nothing cut");
        let fitted = fit(4_500, 10, build, |i| sizes[i], || "x".into()).unwrap();
        assert!(fitted.encoded_len() <= 4_500);
        assert_eq!(fitted.records.len(), 4, "as many as fit, with the cursor");
        let err = fit(500, 10, build, |i| sizes[i], || "record r0".into()).unwrap_err();
        assert_eq!(err.code(), tonic::Code::FailedPrecondition);
        assert!(err.message().contains("record r0 takes"), "{err}");
    }

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
