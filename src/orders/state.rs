//! The order flow's three state machines, as DESIGN.md draws them. Each status knows the
//! statuses it may move to; anything else is an `IllegalTransition`, never a silent
//! change. The service writes an `order_events` row for every move it makes.

use std::fmt;

/// Whether a record belongs to a rehearsal or to real selling. Stamped on every record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Sandbox,
    Live,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sandbox => "sandbox",
            Mode::Live => "live",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "sandbox" => Some(Mode::Sandbox),
            "live" => Some(Mode::Live),
            _ => None,
        }
    }
}

macro_rules! statuses {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

statuses! {
    /// The buyer's order.
    OrderStatus {
        PendingPayment = "pending_payment",
        PaymentFailed = "payment_failed",
        Paid = "paid",
        Routed = "routed",
        PartiallyShipped = "partially_shipped",
        Shipped = "shipped",
        Delivered = "delivered",
        Completed = "completed",
        Cancelled = "cancelled",
    }
}

statuses! {
    /// One supplier's part of an order.
    SupplierStatus {
        Routed = "routed",
        Acknowledged = "acknowledged",
        Shipped = "shipped",
        Delivered = "delivered",
        Rejected = "rejected",
        Cancelled = "cancelled",
    }
}

statuses! {
    /// An after-sales case on one order line.
    CaseStatus {
        Requested = "requested",
        Approved = "approved",
        Rejected = "rejected",
        ReturnShipped = "return_shipped",
        Received = "received",
        Refunded = "refunded",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entity} cannot go from {from} to {to}")]
pub struct IllegalTransition {
    pub entity: &'static str,
    pub from: &'static str,
    pub to: &'static str,
}

impl OrderStatus {
    pub fn can_go(self, to: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, to),
            (PendingPayment, Paid | PaymentFailed | Cancelled)
                | (Paid, Routed | Cancelled)
                | (Routed, PartiallyShipped | Shipped | Cancelled)
                | (PartiallyShipped, Shipped | Delivered)
                | (Shipped, Delivered)
                | (Delivered, Completed)
        )
    }

    /// No further move is possible (after-sales may still run on a delivered order).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OrderStatus::PaymentFailed | OrderStatus::Completed | OrderStatus::Cancelled
        )
    }

    /// Stock is held while the order is alive and not cancelled or failed.
    pub fn holds_stock(self) -> bool {
        !matches!(self, OrderStatus::PaymentFailed | OrderStatus::Cancelled)
    }

    pub fn check(self, to: OrderStatus) -> Result<OrderStatus, IllegalTransition> {
        if self.can_go(to) {
            Ok(to)
        } else {
            Err(IllegalTransition {
                entity: "order",
                from: self.as_str(),
                to: to.as_str(),
            })
        }
    }

    /// The order's status that its supplier orders imply once it has been routed:
    /// all rejected or cancelled -> cancelled; every live part delivered -> delivered;
    /// every live part shipped or delivered -> shipped; some -> partially shipped.
    pub fn from_parts(parts: &[SupplierStatus]) -> OrderStatus {
        use SupplierStatus as S;
        let live: Vec<_> = parts
            .iter()
            .filter(|s| !matches!(s, S::Rejected | S::Cancelled))
            .collect();
        if live.is_empty() {
            return OrderStatus::Cancelled;
        }
        let delivered = live.iter().filter(|s| ***s == S::Delivered).count();
        let gone = live
            .iter()
            .filter(|s| matches!(s, S::Shipped | S::Delivered))
            .count();
        if delivered == live.len() {
            OrderStatus::Delivered
        } else if gone == live.len() {
            OrderStatus::Shipped
        } else if gone > 0 {
            OrderStatus::PartiallyShipped
        } else {
            OrderStatus::Routed
        }
    }
}

impl SupplierStatus {
    pub fn can_go(self, to: SupplierStatus) -> bool {
        use SupplierStatus::*;
        matches!(
            (self, to),
            (Routed, Acknowledged | Rejected | Cancelled)
                | (Acknowledged, Shipped | Rejected | Cancelled)
                | (Shipped, Delivered)
        )
    }

    pub fn check(self, to: SupplierStatus) -> Result<SupplierStatus, IllegalTransition> {
        if self.can_go(to) {
            Ok(to)
        } else {
            Err(IllegalTransition {
                entity: "supplier order",
                from: self.as_str(),
                to: to.as_str(),
            })
        }
    }
}

impl CaseStatus {
    pub fn can_go(self, to: CaseStatus) -> bool {
        use CaseStatus::*;
        matches!(
            (self, to),
            (Requested, Approved | Rejected)
                // A refund without a return (an item that never arrived, say).
                | (Approved, ReturnShipped | Refunded)
                | (ReturnShipped, Received)
                | (Received, Refunded)
        )
    }

    pub fn is_open(self) -> bool {
        !matches!(self, CaseStatus::Rejected | CaseStatus::Refunded)
    }

    pub fn check(self, to: CaseStatus) -> Result<CaseStatus, IllegalTransition> {
        if self.can_go(to) {
            Ok(to)
        } else {
            Err(IllegalTransition {
                entity: "after-sales case",
                from: self.as_str(),
                to: to.as_str(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(*s));
        }
        for s in SupplierStatus::ALL {
            assert_eq!(SupplierStatus::parse(s.as_str()), Some(*s));
        }
        for s in CaseStatus::ALL {
            assert_eq!(CaseStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(OrderStatus::parse("shipped!"), None);
    }

    #[test]
    fn cancelling_stops_at_shipping() {
        use OrderStatus::*;
        assert!(Paid.can_go(Cancelled));
        assert!(Routed.can_go(Cancelled));
        assert!(!PartiallyShipped.can_go(Cancelled));
        assert!(!Shipped.can_go(Cancelled));
        assert!(!Cancelled.can_go(Paid));
        assert_eq!(
            Delivered.check(Paid).unwrap_err().to_string(),
            "order cannot go from delivered to paid"
        );
    }

    #[test]
    fn parts_decide_the_order() {
        use SupplierStatus as S;
        assert_eq!(
            OrderStatus::from_parts(&[S::Routed, S::Acknowledged]),
            OrderStatus::Routed
        );
        assert_eq!(
            OrderStatus::from_parts(&[S::Shipped, S::Acknowledged]),
            OrderStatus::PartiallyShipped
        );
        assert_eq!(
            OrderStatus::from_parts(&[S::Shipped, S::Rejected]),
            OrderStatus::Shipped
        );
        assert_eq!(
            OrderStatus::from_parts(&[S::Delivered, S::Rejected]),
            OrderStatus::Delivered
        );
        assert_eq!(
            OrderStatus::from_parts(&[S::Rejected, S::Rejected]),
            OrderStatus::Cancelled
        );
    }
}
