//! Pagination: every list takes `limit` (default 100, at most 1000) and `offset`, and answers
//! `{items, total, limit, offset}`.

use warden_storage::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

use super::error::ApiError;

/// Page parameters shared by the lists (each query type has `limit` and `offset` fields:
/// `serde(flatten)` does not work with URL-encoded numbers).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PageParams {
    /// Rows per page (1 to 1000, default 100).
    pub(crate) limit: Option<u32>,
    /// Rows to skip (default 0).
    pub(crate) offset: Option<u32>,
}

impl PageParams {
    /// The effective `(limit, offset)`; a limit outside 1..=1000 is a 400 naming `limit`.
    pub(crate) fn bounds(self) -> Result<(u32, u32), ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&limit) {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("limit must be between 1 and {MAX_PAGE_SIZE}"),
            )
            .with_field("limit"));
        }
        Ok((limit, self.offset.unwrap_or(0)))
    }

    /// Cuts one page out of a list held in memory.
    pub(crate) fn slice<T>(self, items: Vec<T>) -> Result<(Vec<T>, u64, u32, u32), ApiError> {
        let (limit, offset) = self.bounds()?;
        let total = items.len() as u64;
        let page = items
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .collect();
        Ok((page, total, limit, offset))
    }
}

/// Declares a page type `{items: Vec<$item>, total, limit, offset}` for the OpenAPI document.
macro_rules! page_of {
    ($name:ident, $item:ty) => {
        #[doc = concat!("One page of ", stringify!($item), " plus the total matching the filter.")]
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub(crate) struct $name {
            /// The rows of this page.
            pub(crate) items: Vec<$item>,
            /// Rows matching the filter across all pages.
            pub(crate) total: u64,
            /// Page size used.
            pub(crate) limit: u32,
            /// Rows skipped.
            pub(crate) offset: u32,
        }
    };
}
pub(crate) use page_of;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_slices() {
        assert_eq!(PageParams::default().bounds().unwrap(), (100, 0));
        let p = PageParams {
            limit: Some(2),
            offset: Some(1),
        };
        let (items, total, limit, offset) = p.slice(vec![1, 2, 3, 4]).unwrap();
        assert_eq!((items, total, limit, offset), (vec![2, 3], 4, 2, 1));
        let p = PageParams {
            limit: Some(2),
            offset: Some(10),
        };
        assert!(p.slice(vec![1]).unwrap().0.is_empty());
        for bad in [0, 1001] {
            let e = PageParams {
                limit: Some(bad),
                offset: None,
            }
            .bounds()
            .unwrap_err();
            assert_eq!(e.field.as_deref(), Some("limit"));
        }
    }
}
