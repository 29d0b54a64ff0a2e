//! Money: an exact decimal amount in one currency. Prices are never `f64` and two currencies are never added.
//!
//! Amounts are [`rust_decimal::Decimal`] rather than integer minor units: providers quote fractions of a cent
//! (hourly prices such as 0.0075 USD), and new currencies need no table of minor-unit exponents. JSON carries an
//! amount as a string with at least two decimals (`{"amount": "5.00", "currency": "USD"}`), so no reader sees a
//! rounded binary float.

use std::collections::BTreeMap;
use std::str::FromStr;

pub use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// An ISO 4217 currency a provider bills in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Currency {
    /// US dollar (Vultr, Linode, DigitalOcean).
    #[serde(rename = "USD")]
    Usd,
    /// Euro (Hetzner Cloud).
    #[serde(rename = "EUR")]
    Eur,
    /// Australian dollar (Binary Lane).
    #[serde(rename = "AUD")]
    Aud,
}

impl Currency {
    /// The ISO 4217 code (`USD`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Usd => "USD",
            Self::Eur => "EUR",
            Self::Aud => "AUD",
        }
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount of money in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// The amount, with at least two decimals (`5.00`).
    pub amount: Decimal,
    /// The currency of `amount`.
    pub currency: Currency,
}

impl Money {
    /// `amount` in `currency`, shown with at least two decimals (trailing zeros past the second are dropped).
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        let mut amount = amount.normalize();
        if amount.scale() < 2 {
            amount.rescale(2);
        }
        Self { amount, currency }
    }

    /// Nothing, in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Self::new(Decimal::ZERO, currency)
    }

    /// A price a provider's JSON gave as a number: the shortest decimal that reads back as the same `f64`
    /// (`14.4`, not `14.4000000000000003…`). `None` for a NaN, an infinity or a number beyond `Decimal`'s range.
    pub fn from_f64(amount: f64, currency: Currency) -> Option<Self> {
        if !amount.is_finite() {
            return None;
        }
        Decimal::from_str(&amount.to_string()).ok().map(|d| Self::new(d, currency))
    }
}

impl std::fmt::Display for Money {
    /// `5.00 USD`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

/// Sums kept apart per currency: adding EUR to USD makes two totals, never one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals(BTreeMap<Currency, Decimal>);

impl Totals {
    /// Adds `m` to the total of its currency.
    pub fn add(&mut self, m: Money) {
        *self.0.entry(m.currency).or_insert(Decimal::ZERO) += m.amount;
    }

    /// One total per currency that was added, in currency order.
    pub fn amounts(&self) -> Vec<Money> {
        self.0.iter().map(|(c, a)| Money::new(*a, *c)).collect()
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_a_string_amount_with_two_decimals_and_an_iso_code() {
        let m = Money::from_f64(5.0, Currency::Usd);
        assert_eq!(serde_json::to_value(m).ok(), Some(serde_json::json!({"amount": "5.00", "currency": "USD"})));
        let m = Money::from_f64(14.4, Currency::Eur);
        assert_eq!(m.map(|m| m.to_string()).as_deref(), Some("14.40 EUR"));
        let m = Money::from_f64(0.0075, Currency::Aud);
        assert_eq!(m.map(|m| m.amount.to_string()).as_deref(), Some("0.0075"));
        assert_eq!(Money::from_f64(f64::NAN, Currency::Usd), None);
        let back: Option<Money> = serde_json::from_str(r#"{"amount":"6.00","currency":"USD"}"#).ok();
        assert_eq!(back, Money::from_f64(6.0, Currency::Usd));
    }

    #[test]
    fn totals_never_add_two_currencies() {
        let mut t = Totals::default();
        assert!(t.is_empty());
        for (a, c) in [(5.0, Currency::Usd), (4.51, Currency::Eur), (0.1, Currency::Usd), (0.2, Currency::Usd)] {
            t.add(Money::from_f64(a, c).unwrap_or(Money::zero(c)));
        }
        let shown: Vec<String> = t.amounts().iter().map(Money::to_string).collect();
        assert_eq!(shown, ["5.30 USD", "4.51 EUR"], "exact decimal sums, one per currency");
    }
}
