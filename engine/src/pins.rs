//! What a provider pins of a catalog's preparation: the scoring kernel, the modulus, or neither.
//!
//! Left alone, the engine takes the fastest kernel of the CPU and, among the moduli whose noise
//! the catalog allows, the one that kernel computes fastest under ([`Kernel::moduli`]): `ifma50`
//! on CPUs with AVX-512 IFMA, `crt54` elsewhere. Clients read the modulus from the catalog's hint,
//! so either serves every client of this version; what must agree is the shards of one catalog
//! (a gateway joins their hints): shards on CPUs of different kinds pin one modulus.

use veilrank_core::ntt::ServerPrime;
use veilrank_core::Result;

use crate::kernel::Kernel;

/// The kernel and the modulus a catalog is prepared on, where the provider names them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct Pins {
    kernel: Option<Kernel>,
    modulus: Option<ServerPrime>,
}

impl Pins {
    /// Nothing pinned: the fastest of this CPU.
    pub const NONE: Self = Self {
        kernel: None,
        modulus: None,
    };

    /// The kernel pinned (`None`: the fastest this CPU runs).
    pub const fn with_kernel(self, kernel: Option<Kernel>) -> Self {
        Self { kernel, ..self }
    }

    /// The modulus pinned (`None`: chosen for the kernel and the catalog's noise).
    pub const fn with_modulus(self, modulus: Option<ServerPrime>) -> Self {
        Self { modulus, ..self }
    }

    /// The pinned kernel, if any.
    #[must_use]
    pub const fn kernel(self) -> Option<Kernel> {
        self.kernel
    }

    /// The pinned modulus, if any.
    #[must_use]
    pub const fn modulus(self) -> Option<ServerPrime> {
        self.modulus
    }

    /// The moduli the noise analysis may choose among, fastest first.
    pub(crate) fn moduli(self) -> Vec<ServerPrime> {
        match self.modulus {
            Some(modulus) => vec![modulus],
            None => self
                .kernel
                .unwrap_or_else(Kernel::fastest_here)
                .moduli()
                .to_vec(),
        }
    }

    /// The kernel for a catalog under `prime`: the pinned one where it runs here and covers
    /// `prime` (an error that says why not otherwise), else the fastest that does.
    pub(crate) fn kernel_for(self, prime: ServerPrime) -> Result<Kernel> {
        match self.kernel {
            Some(kernel) => kernel.check(prime).map(|()| kernel),
            None => Ok(Kernel::best(prime)),
        }
    }
}

impl From<Kernel> for Pins {
    fn from(kernel: Kernel) -> Self {
        Self::NONE.with_kernel(Some(kernel))
    }
}

impl From<ServerPrime> for Pins {
    fn from(modulus: ServerPrime) -> Self {
        Self::NONE.with_modulus(Some(modulus))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_orders_the_moduli_and_a_pin_names_one() {
        assert_eq!(Pins::from(Kernel::Ifma).moduli()[0], ServerPrime::Ifma50);
        for kernel in [Kernel::Avx2, Kernel::Neon, Kernel::Portable] {
            assert_eq!(
                Pins::from(kernel).moduli()[0],
                ServerPrime::Crt54,
                "{kernel}"
            );
        }
        let pinned = Pins::from(Kernel::Avx2).with_modulus(Some(ServerPrime::Ifma50));
        assert_eq!(pinned.moduli(), vec![ServerPrime::Ifma50]);
        let first = Pins::NONE.moduli()[0];
        assert_eq!(first, Kernel::fastest_here().moduli()[0]);
    }

    #[test]
    fn a_pinned_kernel_must_cover_the_modulus() {
        assert!(Pins::from(Kernel::Ifma)
            .kernel_for(ServerPrime::Crt54)
            .is_err());
        assert!(Pins::from(Kernel::Avx2)
            .kernel_for(ServerPrime::Wide62)
            .is_err());
        assert_eq!(
            Pins::from(Kernel::Portable)
                .kernel_for(ServerPrime::Crt54)
                .unwrap(),
            Kernel::Portable
        );
        let best = Pins::NONE.kernel_for(ServerPrime::Crt54).unwrap();
        assert!(best.runs_here() && best.covers(ServerPrime::Crt54));
    }
}
