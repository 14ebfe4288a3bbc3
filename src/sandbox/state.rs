//! The simulator's shared state: the world, what it remembers between calls (the codes it
//! issued, Partner Center's answers per `MS-RequestId`, the consent write window), the
//! journal tests read, the armed faults and the added latency.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::faults::Armed;
use super::journal::Journal;
use super::world::World;

pub struct SimState {
    world: Mutex<World>,
    runtime: Mutex<Runtime>,
    journal: Mutex<Journal>,
    faults: Mutex<Vec<Armed>>,
    latency_ms: AtomicU64,
}

#[derive(Default)]
pub(super) struct Runtime {
    /// Device codes: when issued, the scope asked for and the client.
    pub device_codes: HashMap<String, (Instant, String, String)>,
    /// Authorization codes: the client and scope they were issued to.
    pub auth_codes: HashMap<String, (String, String)>,
    /// Consent writes in the last second, per application.
    pub consent_writes: HashMap<String, VecDeque<Instant>>,
    /// Partner Center answers a repeated `MS-RequestId` with the first answer.
    pub answered: HashMap<String, (u16, Value)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SimState {
    pub fn new(world: World) -> Self {
        SimState {
            world: Mutex::new(world),
            runtime: Mutex::new(Runtime::default()),
            journal: Mutex::new(Journal::default()),
            faults: Mutex::new(Vec::new()),
            latency_ms: AtomicU64::new(0),
        }
    }

    pub fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.world)
    }

    pub(super) fn runtime(&self) -> MutexGuard<'_, Runtime> {
        lock(&self.runtime)
    }

    pub(super) fn journal(&self) -> MutexGuard<'_, Journal> {
        lock(&self.journal)
    }

    pub(super) fn faults(&self) -> MutexGuard<'_, Vec<Armed>> {
        lock(&self.faults)
    }

    /// Notes a secret the simulator hands out, and gives it back.
    pub fn issued(&self, secret: String) -> String {
        self.journal().secrets.push(secret.clone());
        secret
    }

    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms.load(Ordering::Relaxed))
    }

    pub fn set_latency(&self, latency: Duration) {
        self.latency_ms
            .store(latency.as_millis() as u64, Ordering::Relaxed);
    }
}
