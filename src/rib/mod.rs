//! RIBs: Adj-RIB-In (pre-policy), Loc-RIB, Adj-RIB-Out; interned attributes; prefix limits.
