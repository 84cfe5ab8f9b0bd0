//! `StubTransport`: a [`Transport`] that records what it was asked to send and
//! answers as scripted. A library feature for embedders' tests and dry runs.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::domain::MessageStatus;
use crate::ports::{OutboundMessage, SendReceipt, Transport, TransportError};

/// Records every message and replies with a receipt, or with scripted errors.
///
/// ```
/// use whatsapp_crm_core::{StubTransport, TransportError};
///
/// let stub = StubTransport::new();
/// stub.fail_next(TransportError::OutsideWindow { code: 63016 });
/// assert!(stub.sent().is_empty());
/// ```
#[derive(Debug, Default)]
pub struct StubTransport {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    sent: Vec<OutboundMessage>,
    attempts: usize,
    scripted: VecDeque<TransportError>,
    fail_always: Option<TransportError>,
}

impl StubTransport {
    /// A transport that accepts everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next send fails with `error` (queued errors are used in order).
    pub fn fail_next(&self, error: TransportError) {
        self.lock().scripted.push_back(error);
    }

    /// Every send fails with `error` until [`StubTransport::recover`] is called.
    pub fn fail_always(&self, error: TransportError) {
        self.lock().fail_always = Some(error);
    }

    /// Stops failing: clears scripted and permanent errors.
    pub fn recover(&self) {
        let mut s = self.lock();
        s.scripted.clear();
        s.fail_always = None;
    }

    /// Messages accepted so far, in order.
    pub fn sent(&self) -> Vec<OutboundMessage> {
        self.lock().sent.clone()
    }

    /// Sends attempted so far, failed ones included.
    pub fn attempts(&self) -> usize {
        self.lock().attempts
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Transport for StubTransport {
    async fn send(&self, message: &OutboundMessage) -> Result<SendReceipt, TransportError> {
        let mut s = self.lock();
        s.attempts += 1;
        if let Some(err) = s.scripted.pop_front().or_else(|| s.fail_always.clone()) {
            return Err(err);
        }
        s.sent.push(message.clone());
        Ok(SendReceipt {
            provider_id: format!("SM{:032x}", s.sent.len()),
            status: MessageStatus::Queued,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BusinessId, MessageContent, MessageId, PhoneNumber};

    fn msg() -> OutboundMessage {
        OutboundMessage {
            business_id: BusinessId::new(),
            message_id: MessageId::new(),
            from: PhoneNumber::parse("+254700000001").unwrap(),
            to: PhoneNumber::parse("+254712345678").unwrap(),
            content: MessageContent::text("Habari"),
        }
    }

    #[tokio::test]
    async fn records_and_fails_as_scripted() {
        let stub = StubTransport::new();
        stub.fail_next(TransportError::RateLimited { code: Some(20429), retry_after: None });
        assert!(stub.send(&msg()).await.unwrap_err().is_retryable());
        let receipt = stub.send(&msg()).await.unwrap();
        assert_eq!(receipt.provider_id.len(), 34);
        assert_eq!(stub.sent().len(), 1);
        assert_eq!(stub.attempts(), 2);
        stub.fail_always(TransportError::Unauthorized { code: Some(20003) });
        assert!(stub.send(&msg()).await.is_err());
        stub.recover();
        assert!(stub.send(&msg()).await.is_ok());
    }
}
