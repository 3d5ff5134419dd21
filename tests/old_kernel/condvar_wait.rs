// Control for tests/old_kernel.rs: a program that blocks on a std Condvar,
// as a threaded server does. Under the 2.6.22 filter its futex waits fail
// with ENOSYS and it spins; the exporter never waits like this. Prints how
// many times the wait returned: a count, not a time, so a loaded machine
// cannot make the test flaky.
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

fn main() {
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let waker = pair.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(2));
        let (lock, cv) = &*waker;
        *lock.lock().unwrap() = true;
        cv.notify_one();
    });
    let (lock, cv) = &*pair;
    let mut ready = lock.lock().unwrap();
    let mut wakeups: u64 = 0;
    while !*ready {
        ready = cv.wait(ready).unwrap();
        wakeups += 1;
    }
    println!("{wakeups}");
}
