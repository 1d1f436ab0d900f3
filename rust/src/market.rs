//! A market window's two outcome tokens, Up and Down, each with its own book.

use crate::book::{Book, BookError};
use std::fmt;

/// Which outcome token: Up (YES) or Down (NO).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Up = 0,
    Down = 1,
}

impl Outcome {
    pub const BOTH: [Outcome; 2] = [Outcome::Up, Outcome::Down];

    pub const fn other(self) -> Outcome {
        match self {
            Outcome::Up => Outcome::Down,
            Outcome::Down => Outcome::Up,
        }
    }

    pub const fn index(self) -> usize {
        self as usize
    }

    pub const fn name(self) -> &'static str {
        match self {
            Outcome::Up => "up",
            Outcome::Down => "down",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The two books of one market window and the token ids that name them on the wire.
#[derive(Clone, Debug)]
pub struct Market {
    tokens: [String; 2],
    books: [Book; 2],
}

impl Market {
    pub fn new(up_token: &str, down_token: &str, tick_micros: i64) -> Result<Market, BookError> {
        Ok(Market {
            tokens: [up_token.to_owned(), down_token.to_owned()],
            books: [Book::new(tick_micros)?, Book::new(tick_micros)?],
        })
    }

    pub fn token(&self, outcome: Outcome) -> &str {
        &self.tokens[outcome.index()]
    }

    /// The outcome a wire token id names, if it belongs to this market.
    pub fn outcome_of(&self, token: &[u8]) -> Option<Outcome> {
        Outcome::BOTH.into_iter().find(|o| self.tokens[o.index()].as_bytes() == token)
    }

    pub fn book(&self, outcome: Outcome) -> &Book {
        &self.books[outcome.index()]
    }

    pub fn book_mut(&mut self, outcome: Outcome) -> &mut Book {
        &mut self.books[outcome.index()]
    }

    pub fn books(&self) -> (&Book, &Book) {
        (&self.books[0], &self.books[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_map_to_outcomes() {
        let market = Market::new("111", "222", 10_000).unwrap();
        assert_eq!(market.outcome_of(b"111"), Some(Outcome::Up));
        assert_eq!(market.outcome_of(b"222"), Some(Outcome::Down));
        assert_eq!(market.outcome_of(b"333"), None);
        assert_eq!(Outcome::Up.other(), Outcome::Down);
        assert_eq!(market.token(Outcome::Down), "222");
    }
}
