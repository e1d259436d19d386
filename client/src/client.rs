//! A typed client for one node: pinned TLS, bearer token, and the record API.

use focal_proto::v1::{
    self as pb, node_service_client::NodeServiceClient, record_service_client::RecordServiceClient,
};
use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::interceptor::InterceptedService,
    transport::Channel,
};

use crate::transport::{NodeTarget, TransportError, connect};

/// Adds the bearer token to every request.
#[derive(Clone)]
pub struct BearerToken(Option<MetadataValue<Ascii>>);

impl tonic::service::Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// A connection to one node.
#[derive(Clone)]
pub struct Client {
    channel: Channel,
    token: BearerToken,
}

/// Why a client could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The connection failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The token cannot be sent as a header.
    #[error("the token contains characters that cannot be sent")]
    BadToken,
}

impl Client {
    /// Connects to `target` over pinned TLS, authenticating with `token`.
    pub async fn connect(target: &NodeTarget, token: Option<&str>) -> Result<Self, ClientError> {
        let token = match token {
            Some(token) => Some(
                format!("Bearer {}", token.trim())
                    .parse()
                    .map_err(|_| ClientError::BadToken)?,
            ),
            None => None,
        };
        Ok(Self {
            channel: connect(target).await?,
            token: BearerToken(token),
        })
    }

    /// The record API.
    pub fn records(&self) -> RecordServiceClient<InterceptedService<Channel, BearerToken>> {
        RecordServiceClient::with_interceptor(self.channel.clone(), self.token.clone())
    }

    /// The channel, for other service clients.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// The token interceptor, for other service clients.
    pub fn token(&self) -> BearerToken {
        self.token.clone()
    }

    /// The node description API.
    pub fn node(&self) -> NodeServiceClient<Channel> {
        NodeServiceClient::new(self.channel.clone())
    }

    /// Describes the node.
    pub async fn info(&self) -> Result<pb::NodeInfo, Status> {
        Ok(self
            .node()
            .get_info(pb::GetInfoRequest {})
            .await?
            .into_inner())
    }
}
