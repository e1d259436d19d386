//! `focal.v1.RecordService`: records read and written by clients. Requests
//! are converted to domain requests and handed to the writer or the reader;
//! answers are cut to the message cap.

use std::pin::Pin;

use focal_proto::v1::{self as pb, record_service_server::RecordService};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::{Stream, wrappers::ReceiverStream};
use tonic::{Request, Response, Status};

use crate::{
    engine::writer::WriteRequest,
    records::{RecordType, Visibility},
    service::status::ToStatus,
    service::{
        api::{
            RecordApi, blocking, export_parts, fit, framed_len, marked, parse_object, parse_type,
            rows_budget, to_proto,
        },
        auth::Rpc,
    },
    store::query::{ListFilter, PageRequest, Reader},
    store::{ReadError, RecordRow},
};

/// Records whose ids an export reads at once.
const EXPORT_BATCH: usize = 256;

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
