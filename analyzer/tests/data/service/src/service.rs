// Source text for the hand-written findings of the snapshot tests
// (analyzer/tests/data/reports/all-kinds.jsonl). Not compiled: it only has
// to look like the code a finding points into.
use std::sync::Arc;
use std::time::Duration;

use goro::context::{self, Context};
use goro::sync::{Mutex, WaitGroup};

pub struct Cache {
    hits: goro::Shared<u64>,
    entries: goro::sync::Map<String, String>,
}

impl Cache {
    pub fn get(&self, key: &str) -> Option<String> {
        let v = self.entries.load(key);
        if v.is_some() {
            self.hits.set(self.hits.get() + 1);
        }
        v
    }
}

pub async fn serve(cache: Arc<Cache>, requests: goro::Receiver<String>) {
    while let Some(key) = requests.recv().await {
        let cache = cache.clone();
        goro::go!("handler", async move {
            cache.get(&key);
        });
    }
}

pub async fn pipeline(items: Vec<u32>) -> Result<u32, String> {
    let out = goro::chan::<u32>(0);
    let tx = out.clone();
    goro::go!("producer", async move {
        for i in items {
            tx.send(i).await;
        }
    });
    let first = out.recv().await.ok_or("empty")?;
    if first == 0 {
        return Err("zero".into());
    }
    Ok(first)
}

pub async fn transfer(a: Arc<Mutex<u64>>, b: Arc<Mutex<u64>>) {
    let from = a.lock().await;
    let to = b.lock().await;
    drop((from, to));
}

pub async fn handle(parent: &Context) -> u32 {
    let (ctx, cancel) = context::with_timeout(parent, Duration::from_secs(2));
    let v = fetch(&ctx).await;
    v
}

pub async fn ping_pong() {
    let ping = goro::chan::<()>(0);
    let pong = goro::chan::<()>(0);
    let (p, q) = (ping.clone(), pong.clone());
    goro::go!("ponger", async move {
        p.recv().await;
        q.send(()).await;
    });
    pong.recv().await;
    ping.send(()).await;
}

pub async fn fan_out(jobs: Vec<u32>) {
    let results = goro::chan::<u32>(jobs.len());
    let wg = WaitGroup::new();
    for j in jobs {
        let (wg, results) = (wg.clone(), results.clone());
        goro::go!("worker", async move {
            wg.add(1);
            results.send(j * 2).await;
            wg.done();
        });
    }
    wg.wait().await;
    results.close();
    goro::go!("late", async move {
        results.send(0).await;
    });
}

pub async fn parse_all(lines: Vec<String>) {
    goro::go!("parser", async move {
        let n: u32 = lines[0].parse().unwrap();
    });
}
