//! Leader election among `serve` replicas (`jones_sync::zk::election`), against a real ZooKeeper:
//! the first to stand leads, the next leads when the leader resigns or its session ends, and a
//! lost reply to a candidate's create does not make a second candidate.

use std::time::Duration;

use jones_sync::zk::Zk;

use crate::zookeeper::{block_on, server};

fn connect(chroot: &str) -> Zk {
    block_on(Zk::connect(chroot, Duration::from_secs(10))).unwrap()
}

#[test]
fn the_first_candidate_leads_and_the_next_takes_over_when_it_leaves() {
    let chroot = server().chroot("election");
    let (a, b, c) = (connect(&chroot), connect(&chroot), connect(&chroot));
    let (ca, cb, cc) = block_on(async {
        let ca = a.stand(b"a").await.unwrap();
        let cb = b.stand(b"b").await.unwrap();
        let cc = c.stand(b"c").await.unwrap();
        (ca, cb, cc)
    });
    block_on(async {
        assert!(ca.leads(&a).await.unwrap());
        assert!(!cb.leads(&b).await.unwrap());
        assert!(!cb.wait_to_lead(&b, Duration::from_millis(200)).await.unwrap(), "b waits while a leads");
        let who: Vec<Vec<u8>> = a.candidates().await.unwrap().into_iter().map(|(_, data)| data).collect();
        assert_eq!(who, [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    });
    // The leader resigns: the next in line leads, the one after still waits.
    let waiting = std::thread::spawn({
        let (b, cb) = (b, cb.clone());
        move || block_on(async move { (cb.wait_to_lead(&b, Duration::from_secs(20)).await.unwrap(), b) })
    });
    std::thread::sleep(Duration::from_millis(200));
    block_on(ca.resign(&a));
    let (led, b) = waiting.join().unwrap();
    assert!(led, "b leads once a resigned");
    block_on(async {
        assert!(cb.leads(&b).await.unwrap());
        assert!(!cc.leads(&c).await.unwrap());
    });
    // The leader's session ends (a crash): the last one leads, within the session's life.
    drop(b);
    let started = std::time::Instant::now();
    assert!(block_on(cc.wait_to_lead(&c, Duration::from_secs(30))).unwrap());
    assert!(started.elapsed() < Duration::from_secs(15), "took over within a session timeout");
    drop(a);
}
