//! The one list of analyzers. Everything that is per protocol comes from
//! it: the [`Proto`] enum, every protocol's settings ([`Protos`]), its
//! counters (an index into [`super::AppStats::protos`]), the session pools
//! and the dispatch to them, and [`PROTOCOLS`], the descriptions the
//! sensor makes its options, record types and summaries from.
//!
//! Adding a protocol is its folder's `mod` line here and one line in
//! [`protocols!`]: its variant, its field name (the protocol's name) and
//! its [`Analyzer`] type. The order is the order in which ports and probes
//! are tried.

use super::analyzer::{Analyzer, ProtoConfig, Setting, Severity};

// Each protocol's folder, and its line in `protocols!`.
#[path = "dns/mod.rs"]
pub mod dns;
#[path = "http/mod.rs"]
pub mod http;
#[path = "mysql/mod.rs"]
pub mod mysql;
#[path = "pgsql/mod.rs"]
pub mod pgsql;
#[path = "redis/mod.rs"]
pub mod redis;
#[path = "template/mod.rs"]
pub mod template;
#[path = "tls/mod.rs"]
pub mod tls;

/// Calls `$m!` with `( $extra )` followed by the list of analyzers, each
/// as `Variant field: Type,` (with its attributes).
macro_rules! protocols {
    ($($m:ident)::+ ! ( $($extra:tt)* )) => {
        $($m)::+! { ( $($extra)* )
            Http http: $crate::app::http::Http,
            Dns dns: $crate::app::dns::Dns,
            Redis redis: $crate::app::redis::Redis,
            Mysql mysql: $crate::app::mysql::Mysql,
            Pgsql pgsql: $crate::app::pgsql::Pgsql,
            Tls tls: $crate::app::tls::Tls,
            #[cfg(test)] Template template: $crate::app::template::Lines,
        }
    };
}
pub(super) use protocols;

macro_rules! items {
    (() $($(#[$a:meta])* $V:ident $f:ident: $ty:ty,)*) => {
        /// Application protocols, in the order their ports and probes are
        /// tried.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Proto {
            $($(#[$a])* #[doc = concat!("`", stringify!($f), "`")] $V,)*
        }

        impl Proto {
            /// Every protocol, in order; a protocol's position is its
            /// index in per-protocol arrays.
            pub const ALL: &'static [Proto] = &[$($(#[$a])* Proto::$V,)*];

            /// The protocol's description.
            pub fn info(self) -> &'static Info {
                &PROTOCOLS[self as usize]
            }
        }

        /// Every protocol's settings.
        #[derive(Clone, Debug)]
        pub struct Protos {
            $($(#[$a])* #[doc = concat!("`", stringify!($f), "`")] pub $f: ProtoConfig<<$ty as Analyzer>::Limits>,)*
        }

        impl Protos {
            /// Every protocol on, on its default ports, default limits.
            pub fn new() -> Self {
                Self {
                    $($(#[$a])* $f: ProtoConfig::new(
                        <$ty as Analyzer>::ON,
                        <$ty as Analyzer>::TCP_PORTS,
                        <$ty as Analyzer>::UDP_PORTS,
                    ),)*
                }
            }

            /// Runs `f` on every protocol's switches (the limits aside).
            pub fn each(&mut self, mut f: impl FnMut(Proto, &mut Switches<'_>)) {
                $($(#[$a])* {
                    let c = &mut self.$f;
                    f(Proto::$V, &mut Switches {
                        enabled: &mut c.enabled,
                        tcp_ports: &mut c.tcp_ports,
                        udp_ports: &mut c.udp_ports,
                        sample: &mut c.sample,
                    });
                })*
            }
        }

        impl Default for Protos {
            fn default() -> Self {
                Self::new()
            }
        }

        /// A session's analyzer state: one variant per protocol.
        #[allow(clippy::large_enum_variant)]
        pub enum State {
            $($(#[$a])* #[doc = concat!("`", stringify!($f), "`")] $V($ty),)*
        }

        $($(#[$a])*
        const _: () = assert!(
            std::mem::size_of::<$ty>() <= super::slab::MAX_STATE,
            concat!(stringify!($ty), "'s state is larger than a session slot holds: keep the rest in a transaction buffer")
        );)*

        $($(#[$a])*
        impl Registered for $ty {
            const PROTO: Proto = Proto::$V;
            #[inline]
            fn state(s: &mut State) -> Option<&mut Self> {
                #[allow(unreachable_patterns)]
                match s {
                    State::$V(a) => Some(a),
                    _ => None,
                }
            }
            fn into_state(self) -> State {
                State::$V(self)
            }
            #[inline]
            fn conf(c: &Protos) -> &ProtoConfig<Self::Limits> {
                &c.$f
            }
            fn conf_mut(c: &mut Protos) -> &mut ProtoConfig<Self::Limits> {
                &mut c.$f
            }
        })*

        /// What the sensor needs to know of each protocol, in [`Proto`]
        /// order.
        pub const PROTOCOLS: &[Info] = &[$($(#[$a])* Info::of::<$ty>(),)*];

        /// Every protocol's parked states.
        pub(super) struct Parkings {
            $($(#[$a])* pub(super) $f: super::slab::Parking<$ty>,)*
        }

        impl Parkings {
            pub(super) fn new(cfg: &super::AppConfig) -> Self {
                Self {
                    $($(#[$a])* $f: super::slab::Parking::new(&cfg.protos.$f),)*
                }
            }

            /// Bytes held.
            pub(super) fn memory_bytes(&self) -> usize {
                let mut n = 0;
                $($(#[$a])* { n += self.$f.memory_bytes(); })*
                n
            }
        }
    };
}
protocols!(items!());

/// Runs `$body` with `$s` bound to protocol `$p`'s parked states.
macro_rules! with_parking {
    (($slabs:expr, $p:expr, $s:ident => $body:expr) $($(#[$a:meta])* $V:ident $f:ident: $ty:ty,)*) => {
        match $p {
            $($(#[$a])* Proto::$V => {
                // The body may name the analyzer's type as `A`.
                #[allow(dead_code)]
                type A = $ty;
                let $s = &mut $slabs.$f;
                $body
            })*
        }
    };
}
pub(super) use with_parking;

/// Evaluates `$body` once per protocol, in order, with `A` its analyzer
/// type (a `type` item in a block: the body may `return`).
macro_rules! each_proto {
    (($body:block) $($(#[$a:meta])* $V:ident $f:ident: $ty:ty,)*) => {
        $($(#[$a])* {
            #[allow(dead_code)]
            type A = $ty;
            $body
        })*
    };
}
pub(super) use each_proto;

/// What the registry adds to an analyzer: its place in the list, its
/// settings and its variant of a session's state.
pub trait Registered: Analyzer {
    /// Its variant.
    const PROTO: Proto;
    /// Its state in a session, if the session is of this protocol.
    fn state(s: &mut State) -> Option<&mut Self>;
    /// Its state, to put in a session.
    fn into_state(self) -> State;
    /// Its settings.
    fn conf(c: &Protos) -> &ProtoConfig<Self::Limits>;
    /// Its settings, to change.
    fn conf_mut(c: &mut Protos) -> &mut ProtoConfig<Self::Limits>;
}

/// A protocol's switches, whatever its limits' type.
pub struct Switches<'a> {
    /// See [`ProtoConfig::enabled`].
    pub enabled: &'a mut bool,
    /// See [`ProtoConfig::tcp_ports`].
    pub tcp_ports: &'a mut super::PortSet,
    /// See [`ProtoConfig::udp_ports`].
    pub udp_ports: &'a mut super::PortSet,
    /// See [`ProtoConfig::sample`].
    pub sample: &'a mut u32,
}

/// A protocol as the sensor sees it.
#[derive(Debug)]
pub struct Info {
    /// [`Analyzer::NAME`].
    pub name: &'static str,
    /// [`Analyzer::TITLE`].
    pub title: &'static str,
    /// [`Analyzer::TCP_PORTS`].
    pub tcp_ports: &'static [u16],
    /// [`Analyzer::UDP_PORTS`].
    pub udp_ports: &'static [u16],
    /// [`Analyzer::COUNTERS`].
    pub counters: &'static [&'static str],
    /// [`Analyzer::SETTINGS`].
    pub settings: &'static [Setting],
    /// [`Analyzer::SUMMARY`].
    pub summary: &'static str,
    /// [`Analyzer::SEVERITY`].
    pub severity: Severity,
    /// [`Analyzer::ON`].
    pub on: bool,
}

impl Info {
    const fn of<A: Analyzer>() -> Info {
        Info {
            name: A::NAME,
            title: A::TITLE,
            tcp_ports: A::TCP_PORTS,
            udp_ports: A::UDP_PORTS,
            counters: A::COUNTERS,
            settings: A::SETTINGS,
            summary: A::SUMMARY,
            severity: A::SEVERITY,
            on: A::ON,
        }
    }

    /// The protocol named `name`.
    pub fn named(name: &str) -> Option<Proto> {
        Proto::ALL.iter().copied().find(|p| p.info().name == name)
    }
}
