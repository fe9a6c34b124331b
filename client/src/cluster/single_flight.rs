//! One job shared by every caller that asks for it while it runs (a
//! metadata refresh, a coordinator lookup): the first caller runs it, the
//! others wait for its result on a `watch` channel. No lock is held across
//! the job; a waiter's own deadline bounds its wait; a cancelled runner
//! hands the job to the next caller.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Mutex;

use tokio::sync::watch;

/// Jobs keyed by `K`, each with a result of type `T`.
pub struct SingleFlight<K, T> {
    running: Mutex<HashMap<K, watch::Receiver<Option<T>>>>,
}

impl<K, T> Default for SingleFlight<K, T> {
    fn default() -> Self {
        SingleFlight {
            running: Mutex::new(HashMap::new()),
        }
    }
}

enum Claim<T> {
    Wait(watch::Receiver<Option<T>>),
    Run(watch::Sender<Option<T>>),
}

/// Frees the key however the runner ends (done, dropped, panicked).
struct Release<'a, K: Hash + Eq, T> {
    map: &'a Mutex<HashMap<K, watch::Receiver<Option<T>>>>,
    key: Option<K>,
}

impl<K: Hash + Eq, T> Drop for Release<'_, K, T> {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            self.map
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&k);
        }
    }
}

impl<K: Hash + Eq + Clone, T: Clone> SingleFlight<K, T> {
    /// Runs `job` for `key`, or waits for the run already going.
    pub async fn run<F, Fut>(&self, key: K, job: F) -> T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let mut job = Some(job);
        loop {
            let claim = {
                let mut m = self.running.lock().unwrap_or_else(|p| p.into_inner());
                match m.get(&key) {
                    Some(rx) => Claim::Wait(rx.clone()),
                    None => {
                        let (tx, rx) = watch::channel(None);
                        m.insert(key.clone(), rx);
                        Claim::Run(tx)
                    }
                }
            };
            match claim {
                Claim::Wait(mut rx) => {
                    // Err: the runner was dropped before it finished.
                    if let Ok(v) = rx.wait_for(|v| v.is_some()).await {
                        if let Some(v) = v.clone() {
                            return v;
                        }
                    }
                }
                Claim::Run(tx) => {
                    let release = Release {
                        map: &self.running,
                        key: Some(key.clone()),
                    };
                    let Some(job) = job.take() else {
                        // Unreachable: a caller runs at most once.
                        continue;
                    };
                    let v = job().await;
                    drop(release);
                    tx.send_replace(Some(v.clone()));
                    return v;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn concurrent_callers_share_one_run() {
        let sf = Arc::new(SingleFlight::<u8, usize>::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (sf, runs) = (sf.clone(), runs.clone());
            set.spawn(async move {
                sf.run(1, || async {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    runs.fetch_add(1, Ordering::SeqCst) + 1
                })
                .await
            });
        }
        while let Some(r) = set.join_next().await {
            assert_eq!(r.unwrap(), 1);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // Done: the next call runs again.
        assert_eq!(sf.run(1, || async { 7 }).await, 7);
    }

    #[tokio::test]
    async fn a_cancelled_runner_hands_the_job_over() {
        let sf = Arc::new(SingleFlight::<u8, u8>::default());
        let first = {
            let sf = sf.clone();
            tokio::spawn(async move { sf.run(1, std::future::pending::<u8>).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let waiter = {
            let sf = sf.clone();
            tokio::spawn(async move { sf.run(1, || async { 2 }).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        first.abort();
        let got = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the waiter was stranded")
            .unwrap();
        assert_eq!(got, 2);
    }
}
