//! `StubTemplateRegistry`: a [`TemplateRegistry`] that keeps submitted templates
//! in memory and approves or rejects them when told. For embedders' tests and demos.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::domain::{TemplateCategory, TemplateStatus};
use crate::ports::{Approval, ProviderTemplate, RegistryError, TemplateRegistry};

/// Records templates and answers with scripted review outcomes.
///
/// ```
/// use whatsapp_crm_core::{StubTemplateRegistry, TemplateStatus};
///
/// let registry = StubTemplateRegistry::new();
/// registry.set_status("HX00000000000000000000000000000001", TemplateStatus::Approved, None);
/// assert!(registry.created().is_empty());
/// ```
#[derive(Debug, Default)]
pub struct StubTemplateRegistry {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    created: Vec<(String, ProviderTemplate)>,
    submitted: Vec<(String, String, TemplateCategory)>,
    reviews: BTreeMap<String, Approval>,
    failures: VecDeque<RegistryError>,
}

impl StubTemplateRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the review outcome of stored content.
    pub fn set_status(&self, content_id: &str, status: TemplateStatus, reason: Option<&str>) {
        self.lock().reviews.insert(
            content_id.to_owned(),
            Approval { status, rejection_reason: reason.map(str::to_owned) },
        );
    }

    /// The next call fails with `error`.
    pub fn fail_next(&self, error: RegistryError) {
        self.lock().failures.push_back(error);
    }

    /// Content stored so far, with its id.
    pub fn created(&self) -> Vec<(String, ProviderTemplate)> {
        self.lock().created.clone()
    }

    /// Submissions so far: content id, name, category.
    pub fn submitted(&self) -> Vec<(String, String, TemplateCategory)> {
        self.lock().submitted.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fail(&self) -> Result<(), RegistryError> {
        self.lock().failures.pop_front().map_or(Ok(()), Err)
    }
}

#[async_trait]
impl TemplateRegistry for StubTemplateRegistry {
    async fn create(&self, template: &ProviderTemplate) -> Result<String, RegistryError> {
        self.fail()?;
        let mut s = self.lock();
        let id = format!("HX{:032x}", s.created.len() + 1);
        s.created.push((id.clone(), template.clone()));
        s.reviews
            .insert(id.clone(), Approval { status: TemplateStatus::Draft, rejection_reason: None });
        Ok(id)
    }

    async fn submit(
        &self,
        content_id: &str,
        name: &str,
        category: TemplateCategory,
    ) -> Result<Approval, RegistryError> {
        self.fail()?;
        let mut s = self.lock();
        let review = s.reviews.get_mut(content_id).ok_or(RegistryError::NotFound)?;
        review.status = TemplateStatus::Pending;
        let review = review.clone();
        s.submitted.push((content_id.to_owned(), name.to_owned(), category));
        Ok(review)
    }

    async fn approval(&self, content_id: &str) -> Result<Approval, RegistryError> {
        self.fail()?;
        self.lock().reviews.get(content_id).cloned().ok_or(RegistryError::NotFound)
    }
}
