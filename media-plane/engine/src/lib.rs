//! Thread-per-core media plane on glommio
