//! Value parsers of the command line's numbers: each names its range, so that a silly value
//! is refused with one line (exit 2) before anything runs, never carried into an algorithm.

/// A whole number at least 1 (device counts, streams, windows, restarts, threads).
pub fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        Ok(_) => Err("must be at least 1".into()),
        Err(_) => Err(format!("{s:?} is not a whole number")),
    }
}

/// Seconds: a finite number above 0, or `inf` (no limit). Limits beyond a billion seconds
/// (about 32 years) also mean no limit, as no clock of a run reaches them.
/// A whole number at least 2 (a window that can hold a pair).
pub fn at_least_two(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 2 => Ok(n),
        Ok(_) => Err("must be at least 2".into()),
        Err(_) => Err(format!("{s:?} is not a whole number")),
    }
}

pub fn seconds(s: &str) -> Result<f64, String> {
    let t: f64 = s.parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if t.is_nan() || t <= 0.0 {
        return Err("must be above 0 (or inf for no limit)".into());
    }
    Ok(if t > 1e9 { f64::INFINITY } else { t })
}

/// A relative gap or tolerance: a number from 0 to 1.
pub fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        Ok(_) => Err("must be between 0 and 1".into()),
        Err(_) => Err(format!("{s:?} is not a number")),
    }
}

/// A number at least 0 (a contention penalty, a tolerance).
pub fn non_negative(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        Ok(_) => Err("must be a finite number at least 0".into()),
        Err(_) => Err(format!("{s:?} is not a number")),
    }
}

/// A finite number above 0 (a memory size, a rate).
pub fn positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        Ok(_) => Err("must be a finite number above 0".into()),
        Err(_) => Err(format!("{s:?} is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_kept() {
        assert!(at_least_one("0").is_err() && at_least_one("-1").is_err() && at_least_one("x").is_err());
        assert_eq!(at_least_one("3"), Ok(3));
        for bad in ["-1", "0", "nan", "NaN", "x"] {
            assert!(seconds(bad).is_err(), "{bad}");
        }
        assert_eq!(seconds("inf"), Ok(f64::INFINITY));
        assert_eq!(seconds("1e30"), Ok(f64::INFINITY));
        assert_eq!(seconds("2.5"), Ok(2.5));
        assert!(fraction("-1").is_err() && fraction("5").is_err() && fraction("nan").is_err());
        assert!(non_negative("-0.5").is_err() && non_negative("inf").is_err());
    }
}
