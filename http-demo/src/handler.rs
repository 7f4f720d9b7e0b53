//! The request handler: the Rust form of the original `long (*handler)(long)`.

use std::fmt;

/// Computes the answer for `POST /<n>`.
///
/// Any `Fn(i64) -> Result<i64, E>` that is `Send + Sync` is a handler; an
/// `Err` means "n is outside my domain" and becomes a 422 whose body is the
/// error's text. A panic becomes a 500; the server keeps serving. Handlers
/// are called from every worker thread, possibly at the same time.
pub trait Handler: Send + Sync {
    /// Computes the value for `n`.
    fn call(&self, n: i64) -> Result<i64, HandlerError>;

    /// Whether a call may block (sleep, wait on I/O or a lock, run long).
    /// Such calls run on the server's handler threads, off the I/O loop, so
    /// a slow one never delays other connections; `false` (the default)
    /// calls inline on the I/O thread, which suits handlers that take
    /// microseconds, like [`fibonacci`].
    fn may_block(&self) -> bool {
        false
    }
}

/// Why a handler produced no value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandlerError {
    /// `n` is outside the handler's domain → 422 with this text.
    Domain(String),
    /// The handler failed → 500 with this text.
    Failed(String),
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandlerError::Domain(s) | HandlerError::Failed(s) => f.write_str(s),
        }
    }
}

impl<F, E> Handler for F
where
    F: Fn(i64) -> Result<i64, E> + Send + Sync,
    E: fmt::Display,
{
    fn call(&self, n: i64) -> Result<i64, HandlerError> {
        self(n).map_err(|e| HandlerError::Domain(e.to_string()))
    }
}

/// The largest `n` whose Fibonacci number fits an `i64`.
pub const FIB_MAX: i64 = 92;

/// The built-in handler: the n-th Fibonacci number (fib(0) = 0, fib(1) = 1),
/// for 0 ≤ n ≤ 92.
///
/// ```
/// assert_eq!(http_demo::fibonacci(15), Ok(610));
/// assert_eq!(http_demo::fibonacci(17), Ok(1597));
/// assert!(http_demo::fibonacci(93).is_err());
/// ```
pub fn fibonacci(n: i64) -> Result<i64, String> {
    if !(0..=FIB_MAX).contains(&n) {
        return Err(format!("n must be between 0 and {FIB_MAX}"));
    }
    let (mut a, mut b) = (0i64, 1i64);
    for _ in 0..n {
        // `b` runs one step ahead and overflows on the last step for n = 92;
        // only `a` is returned, so wrap instead of checking.
        let next = a.wrapping_add(b);
        a = b;
        b = next;
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fib_values_and_domain() {
        assert_eq!(fibonacci(0), Ok(0));
        assert_eq!(fibonacci(1), Ok(1));
        assert_eq!(fibonacci(15), Ok(610));
        assert_eq!(fibonacci(17), Ok(1597));
        assert_eq!(fibonacci(92), Ok(7540113804746346429));
        assert!(fibonacci(93).is_err());
        assert!(fibonacci(-1).is_err());
    }

    #[test]
    fn closures_are_handlers() {
        let h = |n: i64| if n < 10 { Ok(n * 2) } else { Err("too big") };
        assert_eq!(Handler::call(&h, 4), Ok(8));
        assert_eq!(
            Handler::call(&h, 40),
            Err(HandlerError::Domain("too big".into()))
        );
    }
}
