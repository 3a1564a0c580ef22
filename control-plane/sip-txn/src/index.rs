//! Transaction matching (RFC 3261 sections 17.1.3, 17.2.3, 9.2 and 8.2.2.2):
//! the hash indexes that map caller-filled keys to transaction ids.

use std::collections::HashMap;

use crate::{Method, RequestKey, ResponseKey, TxId};

/// Client transactions: branch plus CSeq method.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey {
    branch: String,
    method: Method,
}

impl ClientKey {
    pub(crate) fn of_request(req: &RequestKey) -> Self {
        Self {
            branch: req.branch.clone(),
            method: req.method.clone(),
        }
    }

    fn of_response(resp: &ResponseKey) -> Self {
        Self {
            branch: resp.branch.clone(),
            method: resp.cseq_method.clone(),
        }
    }
}

/// RFC 3261 server transactions: branch, sent-by (ASCII case folded) and
/// method, where an ACK looks for its INVITE.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ServerKey {
    branch: String,
    sent_by: String,
    method: Method,
}

impl ServerKey {
    fn of(req: &RequestKey, method: Method) -> Self {
        Self {
            branch: req.branch.clone(),
            sent_by: req.sent_by.to_ascii_lowercase(),
            method,
        }
    }
}

/// RFC 2543 server transactions: everything but the To tag, which is
/// compared separately (the ACK carries the tag of the response).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct LegacyKey {
    request_uri: String,
    from_tag: Option<String>,
    call_id: String,
    cseq: u32,
    top_via: String,
    method: Method,
}

impl LegacyKey {
    fn of(req: &RequestKey, method: Method) -> Self {
        Self {
            request_uri: req.request_uri.clone(),
            from_tag: req.from_tag.clone(),
            call_id: req.call_id.clone(),
            cseq: req.cseq,
            top_via: req.top_via.clone(),
            method,
        }
    }
}

#[derive(Clone, Debug)]
struct LegacyEntry {
    tx: TxId,
    request_to_tag: Option<String>,
    response_to_tag: Option<String>,
}

/// Merged-request detection: From tag, Call-ID and CSeq of requests that
/// arrived without a To tag.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct MergeKey {
    from_tag: String,
    call_id: String,
    cseq: u32,
    method: Method,
}

impl MergeKey {
    fn of(req: &RequestKey) -> Option<Self> {
        if req.to_tag.is_some() || req.method.is_ack() {
            return None;
        }
        Some(Self {
            from_tag: req.from_tag.clone()?,
            call_id: req.call_id.clone(),
            cseq: req.cseq,
            method: req.method.clone(),
        })
    }
}

/// The index entries a server transaction owns, kept for its removal.
#[derive(Clone, Debug)]
pub(crate) struct ServerKeys {
    primary: Primary,
    merge: Option<MergeKey>,
}

#[derive(Clone, Debug)]
enum Primary {
    Rfc3261(ServerKey),
    Legacy(LegacyKey),
}

/// The method an arriving request is matched under: an ACK belongs to the
/// INVITE transaction.
fn match_method(req: &RequestKey) -> Method {
    if req.method.is_ack() {
        Method::Invite
    } else {
        req.method.clone()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Index {
    client: HashMap<ClientKey, TxId>,
    server: HashMap<ServerKey, TxId>,
    legacy: HashMap<LegacyKey, Vec<LegacyEntry>>,
    merge: HashMap<MergeKey, TxId>,
}

impl Index {
    /// Registers a client transaction; false if the key is already taken.
    pub(crate) fn insert_client(&mut self, key: ClientKey, tx: TxId) -> bool {
        match self.client.entry(key) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(tx);
                true
            }
        }
    }

    pub(crate) fn contains_client(&self, key: &ClientKey) -> bool {
        self.client.contains_key(key)
    }

    pub(crate) fn remove_client(&mut self, key: &ClientKey, tx: TxId) {
        if self.client.get(key) == Some(&tx) {
            self.client.remove(key);
        }
    }

    /// Section 17.1.3: the client transaction a response belongs to.
    pub(crate) fn find_client(&self, resp: &ResponseKey) -> Option<TxId> {
        self.client.get(&ClientKey::of_response(resp)).copied()
    }

    /// Section 17.2.3: the server transaction an arriving request belongs to
    /// (an ACK finds its INVITE transaction).
    pub(crate) fn find_server(&self, req: &RequestKey) -> Option<TxId> {
        let method = match_method(req);
        if req.has_magic_cookie() {
            return self.server.get(&ServerKey::of(req, method)).copied();
        }
        let entries = self.legacy.get(&LegacyKey::of(req, method))?;
        let found = if req.method.is_ack() {
            // Unknown response tag (the TU never told us): match leniently.
            entries.iter().find(|e| {
                e.response_to_tag.is_none() || e.response_to_tag.as_deref() == req.to_tag.as_deref()
            })
        } else {
            entries.iter().find(|e| e.request_to_tag == req.to_tag)
        };
        found.map(|e| e.tx)
    }

    /// Section 9.2: the INVITE server transaction a CANCEL refers to.
    pub(crate) fn find_cancel_target(&self, cancel: &RequestKey) -> Option<TxId> {
        if cancel.has_magic_cookie() {
            return self
                .server
                .get(&ServerKey::of(cancel, Method::Invite))
                .copied();
        }
        self.legacy
            .get(&LegacyKey::of(cancel, Method::Invite))?
            .iter()
            .find(|e| e.request_to_tag == cancel.to_tag)
            .map(|e| e.tx)
    }

    /// Section 8.2.2.2: an ongoing server transaction with the same From
    /// tag, Call-ID and CSeq as a To-tag-less request that matched nothing.
    pub(crate) fn find_merged(&self, req: &RequestKey) -> Option<TxId> {
        self.merge.get(&MergeKey::of(req)?).copied()
    }

    /// Registers a new server transaction for `req`.
    pub(crate) fn insert_server(&mut self, req: &RequestKey, tx: TxId) -> ServerKeys {
        let method = req.method.clone();
        let primary = if req.has_magic_cookie() {
            let key = ServerKey::of(req, method);
            self.server.insert(key.clone(), tx);
            Primary::Rfc3261(key)
        } else {
            let key = LegacyKey::of(req, method);
            self.legacy
                .entry(key.clone())
                .or_default()
                .push(LegacyEntry {
                    tx,
                    request_to_tag: req.to_tag.clone(),
                    response_to_tag: None,
                });
            Primary::Legacy(key)
        };
        let merge = MergeKey::of(req).filter(|key| {
            let slot = self.merge.entry(key.clone()).or_insert(tx);
            *slot == tx
        });
        ServerKeys { primary, merge }
    }

    /// Records the To tag of the responses a legacy server transaction sends,
    /// which its ACK must carry.
    pub(crate) fn set_response_to_tag(&mut self, keys: &ServerKeys, tx: TxId, tag: &str) {
        if let Primary::Legacy(key) = &keys.primary {
            if let Some(entry) = self
                .legacy
                .get_mut(key)
                .and_then(|entries| entries.iter_mut().find(|e| e.tx == tx))
            {
                entry.response_to_tag = Some(tag.to_owned());
            }
        }
    }

    pub(crate) fn remove_server(&mut self, keys: &ServerKeys, tx: TxId) {
        match &keys.primary {
            Primary::Rfc3261(key) => {
                if self.server.get(key) == Some(&tx) {
                    self.server.remove(key);
                }
            }
            Primary::Legacy(key) => {
                if let Some(entries) = self.legacy.get_mut(key) {
                    entries.retain(|e| e.tx != tx);
                    if entries.is_empty() {
                        self.legacy.remove(key);
                    }
                }
            }
        }
        if let Some(key) = &keys.merge {
            if self.merge.get(key) == Some(&tx) {
                self.merge.remove(key);
            }
        }
    }

    /// Total number of index entries (all should go when the layer empties).
    #[cfg(test)]
    pub(crate) fn entries(&self) -> usize {
        self.client.len()
            + self.server.len()
            + self.legacy.values().map(Vec::len).sum::<usize>()
            + self.merge.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{invite_key, request_key};

    #[test]
    fn client_keys_are_unique_and_removal_checks_the_owner() {
        let mut index = Index::default();
        let key = ClientKey::of_request(&invite_key("z9hG4bK1"));
        assert!(index.insert_client(key.clone(), TxId(1)));
        assert!(!index.insert_client(key.clone(), TxId(2)));
        index.remove_client(&key, TxId(2));
        let resp = ResponseKey::new("z9hG4bK1", Method::Invite);
        assert_eq!(index.find_client(&resp), Some(TxId(1)));
        index.remove_client(&key, TxId(1));
        assert_eq!(index.find_client(&resp), None);
        assert_eq!(index.entries(), 0);
    }

    #[test]
    fn legacy_entries_share_a_key_and_differ_by_to_tag() {
        let mut index = Index::default();
        let first = invite_key("");
        let mut second = invite_key("");
        second.to_tag = Some("dialog".into());
        let k1 = index.insert_server(&first, TxId(1));
        let k2 = index.insert_server(&second, TxId(2));
        assert_eq!(index.find_server(&first), Some(TxId(1)));
        assert_eq!(index.find_server(&second), Some(TxId(2)));
        index.remove_server(&k1, TxId(1));
        assert_eq!(index.find_server(&first), None);
        assert_eq!(index.find_server(&second), Some(TxId(2)));
        index.remove_server(&k2, TxId(2));
        assert_eq!(index.entries(), 0);
    }

    #[test]
    fn merge_entry_belongs_to_the_first_transaction_only() {
        let mut index = Index::default();
        let k1 = index.insert_server(&invite_key("z9hG4bKa"), TxId(1));
        let k2 = index.insert_server(&invite_key("z9hG4bKb"), TxId(2));
        assert_eq!(index.find_merged(&invite_key("z9hG4bKc")), Some(TxId(1)));
        index.remove_server(&k2, TxId(2));
        assert_eq!(index.find_merged(&invite_key("z9hG4bKc")), Some(TxId(1)));
        index.remove_server(&k1, TxId(1));
        assert_eq!(index.find_merged(&invite_key("z9hG4bKc")), None);
        // ACKs and requests with a To tag never take part.
        assert!(MergeKey::of(&request_key(Method::Ack, "z9hG4bKd")).is_none());
        let mut tagged = invite_key("z9hG4bKe");
        tagged.to_tag = Some("t".into());
        assert!(MergeKey::of(&tagged).is_none());
        assert_eq!(index.entries(), 0);
    }
}
