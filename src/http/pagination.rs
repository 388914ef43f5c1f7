//! List query parameters and list responses, the same for every collection.

use serde::Deserialize;
use utoipa::IntoParams;

use super::problem::{ApiError, Code};
use crate::persistence::page::{DEFAULT_LIMIT, MAX_LIMIT, PageRequest};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 200; 50 when absent.
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[param(max_length = 2048, pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
    /// Also count every matching item (`total`).
    pub include_total: Option<bool>,
}

impl PageQuery {
    pub fn request(&self, sort: Option<&str>) -> Result<PageRequest, ApiError> {
        let limit = match self.limit {
            None => DEFAULT_LIMIT,
            Some(l) if (1..=MAX_LIMIT as i64).contains(&l) => l as u64,
            Some(_) => {
                return Err(ApiError::field(
                    Code::ValidationFailed,
                    "limit",
                    "must be between 1 and 200",
                ));
            }
        };
        Ok(PageRequest {
            limit,
            cursor: self.cursor.clone(),
            sort: sort.map(str::to_string),
            include_total: self.include_total.unwrap_or(false),
        })
    }
}

/// Declares the list response of a collection: `{ items, next_cursor, total? }`.
#[macro_export]
macro_rules! list_response {
    ($name:ident, $item:ty) => {
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            /// Pass as `cursor` for the next page; null on the last page.
            pub next_cursor: Option<String>,
            /// Count of every matching item, when `include_total=true`.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub total: Option<u64>,
        }

        impl $name {
            /// The list's answer: this page as JSON, or CSV (every matching row, or one
            /// page with `limit` or `cursor`); `fetch` reads a page through the service.
            pub async fn respond<F>(
                req: &actix_web::HttpRequest,
                page: &$crate::http::pagination::PageQuery,
                sort: Option<&str>,
                fetch: F,
            ) -> Result<actix_web::HttpResponse, $crate::http::problem::ApiError>
            where
                F: AsyncFn(
                        $crate::persistence::page::PageRequest,
                    )
                        -> $crate::error::Result<$crate::persistence::page::Page<$item>>
                    + 'static,
            {
                $crate::http::csv::list::<Self, $item, F>(req, page, sort, fetch).await
            }
        }

        impl From<$crate::persistence::page::Page<$item>> for $name {
            fn from(page: $crate::persistence::page::Page<$item>) -> Self {
                Self {
                    items: page.items,
                    next_cursor: page.next_cursor,
                    total: page.total,
                }
            }
        }
    };
}
