//! A spawned service task whose end can be awaited by reference, any number
//! of times, while its output stays for the one `stop` that joins it: the
//! daemon waits for a service to end instead of asking it on a timer.

use std::future::Future;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A task on the current `LocalSet`, with a signal of its end.
pub struct Watched<T> {
    task: JoinHandle<T>,
    /// Its sender lives inside the task: dropped when the task's future
    /// ends (returns, or is dropped), which wakes every `ended`.
    done: watch::Receiver<()>,
}

impl<T: 'static> Watched<T> {
    pub fn spawn_local<F: Future<Output = T> + 'static>(f: F) -> Self {
        let (alive, done) = watch::channel(());
        let task = tokio::task::spawn_local(async move {
            let _alive = alive;
            f.await
        });
        Watched { task, done }
    }

    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Wait until the task has ended; at once if it has.
    pub async fn ended(&mut self) {
        // Nothing is ever sent: `changed` returns only once the sender is
        // gone, and from then on at once.
        while self.done.changed().await.is_ok() {}
    }

    /// The task's output (it has ended, or ends now).
    pub async fn join(self) -> Result<T, tokio::task::JoinError> {
        self.task.await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn ended_wakes_when_the_task_ends_and_stays_ended() {
        tokio::task::LocalSet::new()
            .run_until(async {
                let (go, wait) = tokio::sync::oneshot::channel::<u8>();
                let mut w = Watched::spawn_local(async move { wait.await.unwrap_or(0) + 1 });
                // Not ended while the task waits.
                let early =
                    tokio::time::timeout(std::time::Duration::from_millis(20), w.ended()).await;
                assert!(early.is_err(), "ended before the task did");
                assert!(!w.is_finished());
                go.send(41).unwrap();
                w.ended().await;
                // Again at once, and the output is still there.
                w.ended().await;
                assert_eq!(w.join().await.unwrap(), 42);
            })
            .await;
    }
}
