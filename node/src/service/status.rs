//! The gRPC status of each error the services return: the same message,
//! and the code a client can act on.

use tonic::Status;

use crate::{engine::writer::WriteError, store::ReadError, views::ViewError};

/// An error as a gRPC status with the same message.
pub trait ToStatus {
    /// The status.
    fn to_status(self) -> Status;
}

impl ToStatus for WriteError {
    fn to_status(self) -> Status {
        let message = self.to_string();
        match self {
            WriteError::Invalid { .. }
            | WriteError::BadRequest(_)
            | WriteError::OverLimit(_)
            | WriteError::EntryTooLarge { .. } => Status::invalid_argument(message),
            WriteError::NotFound(_) => Status::not_found(message),
            WriteError::NotOwner { .. } | WriteError::SecretariatOnly(_) => {
                Status::permission_denied(message)
            }
            WriteError::Deleted(_)
            | WriteError::KeyRetired { .. }
            | WriteError::Fenced(_)
            | WriteError::Unconfirmed { .. } => Status::failed_precondition(message),
            WriteError::ShuttingDown => Status::unavailable(message),
            WriteError::RequestIdReused(_) => Status::already_exists(message),
            _ => Status::internal(message),
        }
    }
}

impl ToStatus for ReadError {
    fn to_status(self) -> Status {
        let message = self.to_string();
        match self {
            ReadError::BadRequest(_) => Status::invalid_argument(message),
            ReadError::NotFound(_) => Status::not_found(message),
            _ => Status::internal(message),
        }
    }
}

impl ToStatus for ViewError {
    fn to_status(self) -> Status {
        let message = self.to_string();
        match self {
            ViewError::BadFilter(_) => Status::invalid_argument(message),
            ViewError::NotFound(_) => Status::not_found(message),
            _ => Status::internal(message),
        }
    }
}
