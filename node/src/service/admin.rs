//! `focal.v1.AdminService`: the network's administration (the roster,
//! members, keys, the network's facts for a joining member), on the
//! secretariat's node for changes.

use focal_proto::v1::{self as pb, admin_service_server::AdminService};
use serde_json::Value;
use tonic::{Request, Response, Status};

use crate::{
    member::MemberCode,
    service::status::ToStatus,
    service::{api::RecordApi, auth::Rpc},
};

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
        let hash_at = move |origin, audience, seq| reader.entry_hash_at(origin, audience, seq);
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
