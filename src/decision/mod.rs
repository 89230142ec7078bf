//! Best-path selection and nearest-edge decisions.
