//! The states of a case and the transitions allowed between them.

use serde::{Deserialize, Serialize};

/// Where a case stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// Being filled in by the client; no number yet.
    Draft,
    /// Filed and numbered; the rules run in the same transaction.
    Submitted,
    /// Waits for the fee (a payment-confirmed event).
    AwaitingPayment,
    /// A clerk handles it.
    InReview,
    /// The clerk asked the client for missing information; the deadline is paused.
    AwaitingInformation,
    /// Decided (granted or refused), automatically or by a clerk with four eyes.
    Decided,
    /// The decision has reached the client.
    Delivered,
    /// Rejected without a decision on the merits (e.g. missing information not given).
    Rejected,
    /// Withdrawn by the client.
    Withdrawn,
}

impl CaseState {
    /// Every state, in the order of a case's life.
    pub const ALL: [CaseState; 9] = [
        Self::Draft,
        Self::Submitted,
        Self::AwaitingPayment,
        Self::InReview,
        Self::AwaitingInformation,
        Self::Decided,
        Self::Delivered,
        Self::Rejected,
        Self::Withdrawn,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::AwaitingPayment => "awaiting_payment",
            Self::InReview => "in_review",
            Self::AwaitingInformation => "awaiting_information",
            Self::Decided => "decided",
            Self::Delivered => "delivered",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
        }
    }

    /// The state of a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The Hungarian name shown on the portal.
    pub fn label_hu(self) -> &'static str {
        match self {
            Self::Draft => "Piszkozat",
            Self::Submitted => "Beküldve",
            Self::AwaitingPayment => "Fizetésre vár",
            Self::InReview => "Ügyintézés alatt",
            Self::AwaitingInformation => "Hiánypótlásra vár",
            Self::Decided => "Döntés született",
            Self::Delivered => "Kézbesítve",
            Self::Rejected => "Visszautasítva",
            Self::Withdrawn => "Visszavonva",
        }
    }

    /// Whether the case is closed: nothing more happens to it but delivery.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Decided | Self::Delivered | Self::Rejected | Self::Withdrawn)
    }

    /// Whether a case may go from this state to `to`.
    pub fn can_go_to(self, to: CaseState) -> bool {
        use CaseState::*;
        matches!(
            (self, to),
            (Draft, Submitted | Withdrawn)
                | (Submitted, AwaitingPayment | InReview | Decided)
                | (AwaitingPayment, InReview | Decided | Withdrawn)
                | (InReview, AwaitingInformation | Decided | Rejected | Withdrawn)
                | (AwaitingInformation, InReview | Rejected | Withdrawn)
                | (Decided, Delivered)
        )
    }
}

impl std::fmt::Display for CaseState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who moved a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CaseActor {
    /// The client's portal account.
    Client {
        /// Account id.
        account_id: uuid::Uuid,
    },
    /// A staff member.
    Staff {
        /// Staff id.
        id: uuid::Uuid,
        /// E-mail, for the history.
        label: String,
    },
    /// Kapu itself (rules, payment events).
    System {
        /// What acted, e.g. `rules` or `payments`.
        label: String,
    },
}

impl CaseActor {
    pub(crate) fn parts(&self) -> (&'static str, Option<uuid::Uuid>, String) {
        match self {
            Self::Client { account_id } => ("client", Some(*account_id), "client".to_owned()),
            Self::Staff { id, label } => ("staff", Some(*id), label.clone()),
            Self::System { label } => ("system", None, label.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CaseState::{self, *};

    #[test]
    fn names_round_trip() {
        for s in CaseState::ALL {
            assert_eq!(CaseState::parse(s.as_str()), Some(s));
        }
        assert_eq!(CaseState::parse("closed"), None);
    }

    #[test]
    fn transitions() {
        assert!(Draft.can_go_to(Submitted));
        assert!(Submitted.can_go_to(Decided));
        assert!(AwaitingPayment.can_go_to(Decided));
        assert!(InReview.can_go_to(AwaitingInformation));
        assert!(AwaitingInformation.can_go_to(InReview));
        assert!(Decided.can_go_to(Delivered));
        assert!(!Draft.can_go_to(Decided), "a draft is not decided without being filed");
        assert!(!AwaitingInformation.can_go_to(Decided), "the answer is reviewed first");
        assert!(!Decided.can_go_to(InReview), "a decision is final");
        assert!(!Withdrawn.can_go_to(Submitted));
        assert!(!Delivered.can_go_to(Withdrawn));
        for s in CaseState::ALL {
            assert!(!s.can_go_to(s), "{s} to itself");
        }
    }
}
