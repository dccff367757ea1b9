//! Built-in spider middlewares.
