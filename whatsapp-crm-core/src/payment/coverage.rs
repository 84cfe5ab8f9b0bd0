//! Whether an order's settled payments pay it.

use crate::domain::Money;

/// How settled payments compare with an order's total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Short by this much (minor units).
    Short(i64),
    /// Exactly paid.
    Exact,
    /// Paid over by this much (minor units): flagged for a refund.
    Over(i64),
}

impl Coverage {
    /// Paid in full, over or not.
    pub fn is_paid(self) -> bool {
        !matches!(self, Self::Short(_))
    }
}

/// Settled payments against `total`; payments in another currency do not
/// count.
pub fn coverage(total: Money, settled: &[Money]) -> Coverage {
    let paid: i64 = settled
        .iter()
        .filter(|m| m.currency == total.currency)
        .fold(0i64, |sum, m| sum.saturating_add(m.minor));
    match paid.cmp(&total.minor) {
        std::cmp::Ordering::Less => Coverage::Short(total.minor - paid),
        std::cmp::Ordering::Equal => Coverage::Exact,
        std::cmp::Ordering::Greater => Coverage::Over(paid - total.minor),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;

    #[test]
    fn settled_payments_cover_the_total_in_its_currency() {
        let kes = |m| Money::new(m, Currency::KES);
        assert_eq!(coverage(kes(690), &[]), Coverage::Short(690));
        assert_eq!(coverage(kes(690), &[kes(400), kes(290)]), Coverage::Exact);
        assert_eq!(coverage(kes(690), &[kes(700)]), Coverage::Over(10));
        assert_eq!(coverage(kes(690), &[Money::new(690, Currency::USD)]), Coverage::Short(690));
        assert!(Coverage::Over(1).is_paid() && !Coverage::Short(1).is_paid());
    }
}
