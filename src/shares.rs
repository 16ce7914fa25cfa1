//! Per-client shares: no one client address may hold more than its share of the
//! request budget, of the stream cap, or of the connections kept alive between
//! requests.
//!
//! The budgets of `shared.rs` bound what the server as a whole spends. Alone they
//! are first come, first served: one address that opens a thousand keep-alive
//! connections and keeps them busy holds every request slot, and everyone else's
//! publish waits `--admission-wait-ms` and gets `503`. So each place is also counted
//! per client, here, and a client at its share is refused even while the server has
//! room: `--max-requests-per-client` request slots (and as many idle keep-alive
//! connections), `--max-streams-per-client` streams.
//!
//! The client is the TCP peer's IP address, the only thing known before a request is
//! read (a request slot is claimed at `accept()`). Behind a reverse proxy every peer
//! is the proxy, so peers named with `--trusted-proxy` have no share: the proxy limits
//! each client itself (`deploy/nginx.conf` does, with `limit_conn` and `limit_req`).
//!
//! An entry exists only while its client holds something, so the table is never
//! larger than the connections open; its lock is held for one hash-map update.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::sync::lock;

/// The three places a client holds, each with its own share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A request being read or answered (`--max-requests-per-client`).
    Request,
    /// A connection kept alive between requests, holding no request slot (the same
    /// share as requests).
    Idle,
    /// An open stream (`--max-streams-per-client`).
    Stream,
}

/// What one client holds now. Invariant: each count equals the live [`ShareClaim`]s
/// of its kind for this address, and an entry whose counts are all zero is removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Held {
    requests: usize,
    idle: usize,
    streams: usize,
}

impl Held {
    fn count(&mut self, place: Place) -> &mut usize {
        match place {
            Place::Request => &mut self.requests,
            Place::Idle => &mut self.idle,
            Place::Stream => &mut self.streams,
        }
    }
}

/// Every client's places, and the shares they are held within.
pub struct ClientShares {
    held: Mutex<HashMap<IpAddr, Held>>,
    max_requests: usize,
    max_streams: usize,
    /// Peers without a share (`--trusted-proxy`): they speak for many clients.
    exempt: Vec<IpAddr>,
}

impl ClientShares {
    /// Shares of `max_requests` request slots (and as many idle connections) and
    /// `max_streams` streams per client; `exempt` peers have none.
    pub fn new(max_requests: usize, max_streams: usize, exempt: Vec<IpAddr>) -> ClientShares {
        ClientShares {
            held: Mutex::new(HashMap::new()),
            max_requests,
            max_streams,
            exempt,
        }
    }

    /// Takes a `place` for `client` unless it already holds its share of them.
    pub fn claim(&self, client: IpAddr, place: Place) -> Option<ShareClaim<'_>> {
        let taken = self.take(client, place)?;
        Some(ShareClaim {
            shares: self,
            taken,
        })
    }

    /// [`ClientShares::claim`] for an owner that keeps the shares alive itself (a
    /// `RequestSlot` holds them through an `Arc`): it must hand the [`Taken`] back to
    /// [`ClientShares::give_back`] exactly once.
    pub fn take(&self, client: IpAddr, place: Place) -> Option<Taken> {
        if self.exempt.contains(&client) {
            return Some(Taken {
                client: None,
                place,
            });
        }
        let share = match place {
            Place::Request | Place::Idle => self.max_requests,
            Place::Stream => self.max_streams,
        };
        let mut held = lock(&self.held);
        let count = held.entry(client).or_default().count(place);
        if *count >= share {
            // An entry created just now for this refusal holds nothing: remove it,
            // so that the table keeps its invariant.
            if held.get(&client) == Some(&Held::default()) {
                held.remove(&client);
            }
            return None;
        }
        *count += 1;
        Some(Taken {
            client: Some(client),
            place,
        })
    }

    /// Gives back a place [`ClientShares::take`] gave.
    pub fn give_back(&self, taken: Taken) {
        let Some(client) = taken.client else {
            return;
        };
        let mut held = lock(&self.held);
        let Some(entry) = held.get_mut(&client) else {
            debug_assert!(false, "a claim of {client} outlived its entry");
            return;
        };
        let count = entry.count(taken.place);
        debug_assert!(*count > 0, "gave back a place {client} did not hold");
        *count = count.saturating_sub(1);
        if *entry == Held::default() {
            held.remove(&client);
        }
    }

    /// How many `place`s `client` holds now.
    pub fn held_by(&self, client: IpAddr, place: Place) -> usize {
        lock(&self.held).get(&client).map_or(0, |held| match place {
            Place::Request => held.requests,
            Place::Idle => held.idle,
            Place::Stream => held.streams,
        })
    }

    /// Client addresses that hold anything now.
    pub fn clients(&self) -> usize {
        lock(&self.held).len()
    }
}

/// A place taken by [`ClientShares::take`], to be given back once. Deliberately not
/// `Clone`: two copies would give it back twice.
#[derive(Debug)]
pub struct Taken {
    /// `None` for an exempt peer, which counts nothing.
    client: Option<IpAddr>,
    place: Place,
}

/// One place held by one client; given back when dropped, on every exit path.
pub struct ShareClaim<'s> {
    shares: &'s ClientShares,
    taken: Taken,
}

impl Drop for ShareClaim<'_> {
    fn drop(&mut self) {
        let taken = Taken {
            client: self.taken.client.take(),
            place: self.taken.place,
        };
        self.shares.give_back(taken);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const BOB: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));
    const PROXY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 9));

    #[test]
    fn a_client_at_its_share_is_refused_and_others_are_not() {
        let shares = ClientShares::new(2, 1, vec![]);
        let first = shares.claim(ALICE, Place::Request).unwrap();
        let _second = shares.claim(ALICE, Place::Request).unwrap();
        assert!(shares.claim(ALICE, Place::Request).is_none());
        // The other places have shares of their own.
        let _stream = shares.claim(ALICE, Place::Stream).unwrap();
        assert!(shares.claim(ALICE, Place::Stream).is_none());
        assert!(shares.claim(ALICE, Place::Idle).is_some());
        assert!(shares.claim(BOB, Place::Request).is_some());
        drop(first);
        assert!(shares.claim(ALICE, Place::Request).is_some());
    }

    #[test]
    fn the_table_forgets_a_client_that_holds_nothing() {
        let shares = ClientShares::new(1, 1, vec![]);
        let held = shares.claim(ALICE, Place::Stream).unwrap();
        assert!(shares.claim(ALICE, Place::Stream).is_none());
        assert_eq!(shares.clients(), 1);
        drop(held);
        assert_eq!(shares.clients(), 0);
        assert_eq!(shares.held_by(ALICE, Place::Stream), 0);
        // A refusal leaves no entry behind either.
        let shares = ClientShares::new(0, 0, vec![]);
        assert!(shares.claim(BOB, Place::Request).is_none());
        assert_eq!(shares.clients(), 0);
    }

    #[test]
    fn a_trusted_proxy_has_no_share() {
        let shares = ClientShares::new(1, 1, vec![PROXY]);
        let claims: Vec<_> = (0..10)
            .map(|_| shares.claim(PROXY, Place::Request).unwrap())
            .collect();
        assert_eq!(shares.clients(), 0);
        drop(claims);
        assert_eq!(shares.clients(), 0);
    }
}
