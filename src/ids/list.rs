//! A compact list of IDs: one string buffer and the end offsets, so a batch
//! of 1000 IDs is two allocations, not a thousand and one.

use bytes::Bytes;

/// An ordered list of validated customer IDs.
#[derive(Default, Clone, PartialEq, Eq)]
pub struct IdList {
    buf: String,
    ends: Vec<u32>,
}

impl std::fmt::Debug for IdList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl IdList {
    /// An empty list with room for `n` IDs.
    pub fn with_capacity(n: usize) -> IdList {
        IdList {
            buf: String::with_capacity(n * 16),
            ends: Vec::with_capacity(n),
        }
    }

    /// Appends an ID.
    #[inline]
    pub fn push(&mut self, id: &str) {
        self.buf.push_str(id);
        self.ends.push(self.buf.len() as u32);
    }

    /// The number of IDs.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The `i`-th ID.
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.buf[start..self.ends[i] as usize]
    }

    /// The IDs in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// The first and the last ID, for messages.
    pub fn bounds(&self) -> Option<(&str, &str)> {
        (!self.is_empty()).then(|| (self.get(0), self.get(self.len() - 1)))
    }

    /// `1000 IDs, a … z` or `1 ID, a`, for messages.
    pub fn describe(&self) -> String {
        match self.bounds() {
            Some((first, last)) if self.len() > 1 => {
                format!("{} IDs, {first} … {last}", self.len())
            }
            Some((only, _)) => format!("1 ID, {only}"),
            None => "no IDs".into(),
        }
    }

    /// Splits into the first half and the second half.
    pub fn halves(&self) -> (IdList, IdList) {
        let mid = self.len() / 2;
        let mut a = IdList::with_capacity(mid);
        let mut b = IdList::with_capacity(self.len() - mid);
        for (i, id) in self.iter().enumerate() {
            if i < mid { a.push(id) } else { b.push(id) }
        }
        (a, b)
    }

    /// Splits by index: the IDs at `picked` (sorted, in range) and the rest.
    pub fn partition(&self, picked: &[usize]) -> (IdList, IdList) {
        split_picked(self.iter(), picked)
    }

    /// The request body, `{"customerIds":[...]}`, written straight into one
    /// buffer. Validated IDs need no JSON escaping, so none is done.
    pub fn json_body(&self) -> Bytes {
        let mut body = Vec::with_capacity(self.buf.len() + 3 * self.len() + 18);
        body.extend_from_slice(b"{\"customerIds\":[");
        for (i, id) in self.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.push(b'"');
            body.extend_from_slice(id.as_bytes());
            body.push(b'"');
        }
        body.extend_from_slice(b"]}");
        Bytes::from(body)
    }

    /// Appends every ID and a newline to `out`.
    pub fn write_lines(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        for id in self.iter() {
            out.write_all(id.as_bytes())?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}

/// Splits `items` by position: those at `picked` (sorted ascending) and
/// the rest, both in their original order.
pub fn split_picked<T, C: Default + Extend<T>>(
    items: impl IntoIterator<Item = T>,
    picked: &[usize],
) -> (C, C) {
    let (mut taken, mut kept) = (C::default(), C::default());
    let mut next = picked.iter().peekable();
    for (i, item) in items.into_iter().enumerate() {
        if next.peek() == Some(&&i) {
            next.next();
            taken.extend(Some(item));
        } else {
            kept.extend(Some(item));
        }
    }
    (taken, kept)
}

impl<'a> Extend<&'a str> for IdList {
    fn extend<I: IntoIterator<Item = &'a str>>(&mut self, iter: I) {
        for id in iter {
            self.push(id);
        }
    }
}

impl<'a> FromIterator<&'a str> for IdList {
    fn from_iter<I: IntoIterator<Item = &'a str>>(iter: I) -> IdList {
        let mut list = IdList::default();
        list.extend(iter);
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_valid_json_with_ids_in_order() {
        let list: IdList = ["a", "b-2", "c@d"].into_iter().collect();
        let v: serde_json::Value = serde_json::from_slice(&list.json_body()).unwrap();
        assert_eq!(v, serde_json::json!({"customerIds": ["a", "b-2", "c@d"]}));
    }

    #[test]
    fn halves_and_partition_keep_order() {
        let list: IdList = ["a", "b", "c", "d", "e"].into_iter().collect();
        let (x, y) = list.halves();
        assert_eq!(x.iter().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(y.iter().collect::<Vec<_>>(), ["c", "d", "e"]);
        let (taken, kept) = list.partition(&[1, 4]);
        assert_eq!(taken.iter().collect::<Vec<_>>(), ["b", "e"]);
        assert_eq!(kept.iter().collect::<Vec<_>>(), ["a", "c", "d"]);
        assert_eq!(list.bounds(), Some(("a", "e")));
    }
}
