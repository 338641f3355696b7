//! A catalog's hint as the server serves it: both forms encoded once per content version, and
//! the form a client asks for (`?form=rounded`; exact by default, which every client decodes).

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use veilrank_core::hint::Hint;
use veilrank_core::params::ParameterSet;
use veilrank_core::wire::{self, CatalogRef};

use crate::error::AppError;

/// Which form of the hint a client asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HintForm {
    /// Exact values in the transform domain: what clients before the rounded hint decode.
    #[default]
    Exact,
    /// Rounded to the catalog's `noise.hint_bits`: about half the bytes.
    Rounded,
}

/// The query string of the hint routes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HintQuery {
    /// `exact` (the default) or `rounded`.
    #[serde(default)]
    pub form: HintForm,
}

/// The form asked for, or a 400 that says what the query string got wrong.
pub fn checked_form(query: Result<Query<HintQuery>, QueryRejection>) -> Result<HintForm, AppError> {
    query.map(|Query(q)| q.form).map_err(|e| {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "bad_query",
            format!("{}; form is exact or rounded", e.body_text()),
        )
    })
}

/// Both forms of one content version's hint, encoded.
#[derive(Clone, Debug)]
pub struct EncodedHints {
    catalog: CatalogRef,
    exact: Bytes,
    /// `None` where no rounding is known to keep scores exact (a gateway over shards from
    /// before the rounded hint): the exact hint answers for it.
    rounded: Option<Bytes>,
}

impl EncodedHints {
    /// Encodes the exact `hint` of `catalog`, and the hint rounded to `bits` bits where given.
    pub fn encode(
        params: &ParameterSet,
        catalog: &CatalogRef,
        hint: &Hint,
        bits: Option<u32>,
    ) -> veilrank_core::Result<Self> {
        let rounded = bits
            .map(|bits| wire::encode_rounded_hint(params, catalog, hint, bits))
            .transpose()?;
        Ok(Self {
            catalog: catalog.clone(),
            exact: Bytes::from(wire::encode_hint(params, catalog, hint)?),
            rounded: rounded.map(Bytes::from),
        })
    }

    /// The form served for `form`: the exact one where there is no rounded one.
    fn served(&self, form: HintForm) -> HintForm {
        match (form, &self.rounded) {
            (HintForm::Rounded, Some(_)) => HintForm::Rounded,
            _ => HintForm::Exact,
        }
    }

    /// The encoded message served for `form`.
    #[must_use]
    pub fn bytes(&self, form: HintForm) -> Bytes {
        match (self.served(form), &self.rounded) {
            (HintForm::Rounded, Some(rounded)) => rounded.clone(),
            _ => self.exact.clone(),
        }
    }

    /// Bytes of the rounded form, if there is one (the manifest states them).
    #[must_use]
    pub fn rounded_len(&self) -> Option<usize> {
        self.rounded.as_ref().map(Bytes::len)
    }

    /// One form as an answer, tagged with the content version (and the form: the two are
    /// different representations).
    #[must_use]
    pub fn response(&self, form: HintForm) -> Response {
        let version = self.catalog.version.to_hex();
        let etag = match self.served(form) {
            HintForm::Exact => format!("\"{version}\""),
            HintForm::Rounded => format!("\"{version}-rounded\""),
        };
        let mut response = (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            )],
            Body::from(self.bytes(form)),
        )
            .into_response();
        if let Ok(value) = HeaderValue::from_str(&etag) {
            response.headers_mut().insert(header::ETAG, value);
        }
        response
    }
}
