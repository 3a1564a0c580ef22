//! eBPF instruction encoding and a small assembler with forward labels.
//!
//! Only what the forwarding program needs: 64-bit ALU, byte swaps, loads and stores of
//! every width, atomic add, conditional jumps, helper calls and the map-fd immediate.

/// A general-purpose register. `R10` is the read-only frame pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reg(pub(crate) u8);

pub(crate) const R0: Reg = Reg(0);
pub(crate) const R1: Reg = Reg(1);
pub(crate) const R2: Reg = Reg(2);
pub(crate) const R3: Reg = Reg(3);
pub(crate) const R4: Reg = Reg(4);
pub(crate) const R5: Reg = Reg(5);
pub(crate) const R6: Reg = Reg(6);
pub(crate) const R7: Reg = Reg(7);
pub(crate) const R8: Reg = Reg(8);
pub(crate) const R9: Reg = Reg(9);
pub(crate) const FP: Reg = Reg(10);

/// Access width of a load or store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Size {
    B,
    H,
    W,
    DW,
}

impl Size {
    fn code(self) -> u8 {
        match self {
            Size::W => 0x00,
            Size::H => 0x08,
            Size::B => 0x10,
            Size::DW => 0x18,
        }
    }
}

/// 64-bit ALU operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alu {
    Add,
    Sub,
    Mul,
    Div,
    Or,
    And,
    Lsh,
    Rsh,
    Mov,
    Arsh,
}

impl Alu {
    fn code(self) -> u8 {
        match self {
            Alu::Add => 0x00,
            Alu::Sub => 0x10,
            Alu::Mul => 0x20,
            Alu::Div => 0x30,
            Alu::Or => 0x40,
            Alu::And => 0x50,
            Alu::Lsh => 0x60,
            Alu::Rsh => 0x70,
            Alu::Mov => 0xb0,
            Alu::Arsh => 0xc0,
        }
    }
}

/// Jump conditions (64-bit compares; `Sge` is signed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cond {
    Eq,
    Ne,
    Gt,
    Ge,
    Sge,
}

impl Cond {
    fn code(self) -> u8 {
        match self {
            Cond::Eq => 0x10,
            Cond::Gt => 0x20,
            Cond::Ge => 0x30,
            Cond::Ne => 0x50,
            Cond::Sge => 0x70,
        }
    }
}

const CLASS_LD: u8 = 0x00;
const CLASS_LDX: u8 = 0x01;
const CLASS_STX: u8 = 0x03;
const CLASS_ALU: u8 = 0x04;
const CLASS_JMP: u8 = 0x05;
const CLASS_ALU64: u8 = 0x07;
const MODE_IMM: u8 = 0x00;
const MODE_MEM: u8 = 0x60;
const MODE_ATOMIC: u8 = 0xc0;
const SRC_X: u8 = 0x08;
const OP_NEG: u8 = 0x80;
const OP_END: u8 = 0xd0;
const TO_BE: u8 = 0x08;
const JMP_JA: u8 = 0x00;
const JMP_CALL: u8 = 0x80;
const JMP_EXIT: u8 = 0x90;
/// `src_reg` of a 64-bit immediate load that names a map by file descriptor.
const PSEUDO_MAP_FD: u8 = 1;

/// One encoded instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    code: u8,
    dst: u8,
    src: u8,
    off: i16,
    imm: i32,
}

impl Insn {
    /// The 8 bytes the kernel reads.
    pub(crate) fn to_bytes(self) -> [u8; 8] {
        let off = self.off.to_le_bytes();
        let imm = self.imm.to_le_bytes();
        [
            self.code,
            (self.src << 4) | (self.dst & 0x0f),
            off[0],
            off[1],
            imm[0],
            imm[1],
            imm[2],
            imm[3],
        ]
    }
}

/// A jump target, bound later with [`Asm::bind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Label(usize);

/// Builds a program; jumps to labels are patched by [`Asm::finish`].
#[derive(Debug, Default)]
pub(crate) struct Asm {
    insns: Vec<Insn>,
    labels: Vec<Option<usize>>,
    /// (instruction index, label) of every jump.
    fixups: Vec<(usize, Label)>,
}

/// Why a program could not be assembled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AsmError {
    /// A jump names a label that was never bound.
    #[error("label {0} is never bound")]
    Unbound(usize),
    /// A jump is further than a 16-bit offset reaches.
    #[error("jump from instruction {0} is out of range")]
    OutOfRange(usize),
}

impl Asm {
    pub(crate) fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Binds `label` to the next instruction.
    pub(crate) fn bind(&mut self, label: Label) {
        if let Some(slot) = self.labels.get_mut(label.0) {
            *slot = Some(self.insns.len());
        }
    }

    fn push(&mut self, code: u8, dst: Reg, src: Reg, off: i16, imm: i32) {
        self.insns.push(Insn {
            code,
            dst: dst.0,
            src: src.0,
            off,
            imm,
        });
    }

    /// `dst op= imm` (64-bit).
    pub(crate) fn alu_imm(&mut self, op: Alu, dst: Reg, imm: i32) {
        self.push(CLASS_ALU64 | op.code(), dst, R0, 0, imm);
    }

    /// `dst op= src` (64-bit).
    pub(crate) fn alu_reg(&mut self, op: Alu, dst: Reg, src: Reg) {
        self.push(CLASS_ALU64 | op.code() | SRC_X, dst, src, 0, 0);
    }

    /// `dst = imm`.
    pub(crate) fn mov_imm(&mut self, dst: Reg, imm: i32) {
        self.alu_imm(Alu::Mov, dst, imm);
    }

    /// `dst = src`.
    pub(crate) fn mov(&mut self, dst: Reg, src: Reg) {
        self.alu_reg(Alu::Mov, dst, src);
    }

    /// `dst = -dst`.
    pub(crate) fn neg(&mut self, dst: Reg) {
        self.push(CLASS_ALU64 | OP_NEG, dst, R0, 0, 0);
    }

    /// Converts the low `bits` (16 or 32) of `dst` between host and network order and
    /// clears the bits above them.
    pub(crate) fn swap_be(&mut self, dst: Reg, bits: i32) {
        self.push(CLASS_ALU | OP_END | TO_BE, dst, R0, 0, bits);
    }

    /// `dst = *(size *)(src + off)`.
    pub(crate) fn load(&mut self, size: Size, dst: Reg, src: Reg, off: i16) {
        self.push(CLASS_LDX | MODE_MEM | size.code(), dst, src, off, 0);
    }

    /// `*(size *)(dst + off) = src`.
    pub(crate) fn store(&mut self, size: Size, dst: Reg, off: i16, src: Reg) {
        self.push(CLASS_STX | MODE_MEM | size.code(), dst, src, off, 0);
    }

    /// Atomic `*(u64 *)(dst + off) += src`.
    pub(crate) fn atomic_add64(&mut self, dst: Reg, off: i16, src: Reg) {
        self.push(CLASS_STX | MODE_ATOMIC | Size::DW.code(), dst, src, off, 0);
    }

    /// `dst = map` (the map's file descriptor, resolved by the kernel at load).
    pub(crate) fn load_map_fd(&mut self, dst: Reg, fd: i32) {
        self.push(
            CLASS_LD | MODE_IMM | Size::DW.code(),
            dst,
            Reg(PSEUDO_MAP_FD),
            0,
            fd,
        );
        self.push(0, R0, R0, 0, 0);
    }

    /// `if dst cond imm goto target`.
    pub(crate) fn jump_imm(&mut self, cond: Cond, dst: Reg, imm: i32, target: Label) {
        self.fixups.push((self.insns.len(), target));
        self.push(CLASS_JMP | cond.code(), dst, R0, 0, imm);
    }

    /// `if dst cond src goto target`.
    pub(crate) fn jump_reg(&mut self, cond: Cond, dst: Reg, src: Reg, target: Label) {
        self.fixups.push((self.insns.len(), target));
        self.push(CLASS_JMP | cond.code() | SRC_X, dst, src, 0, 0);
    }

    /// `goto target`.
    pub(crate) fn goto(&mut self, target: Label) {
        self.fixups.push((self.insns.len(), target));
        self.push(CLASS_JMP | JMP_JA, R0, R0, 0, 0);
    }

    /// Calls kernel helper `id` (arguments in r1–r5, result in r0; r1–r5 are clobbered).
    pub(crate) fn call(&mut self, id: i32) {
        self.push(CLASS_JMP | JMP_CALL, R0, R0, 0, id);
    }

    pub(crate) fn exit(&mut self) {
        self.push(CLASS_JMP | JMP_EXIT, R0, R0, 0, 0);
    }

    /// Resolves the jumps and returns the program's bytes.
    pub(crate) fn finish(mut self) -> Result<Vec<u8>, AsmError> {
        for &(at, label) in &self.fixups {
            let target = self
                .labels
                .get(label.0)
                .copied()
                .flatten()
                .ok_or(AsmError::Unbound(label.0))?;
            let delta = target as i64 - at as i64 - 1;
            let off = i16::try_from(delta).map_err(|_| AsmError::OutOfRange(at))?;
            if let Some(insn) = self.insns.get_mut(at) {
                insn.off = off;
            }
        }
        Ok(self.insns.iter().flat_map(|i| i.to_bytes()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_the_kernel_documents() {
        let mut asm = Asm::default();
        asm.mov(R6, R1); // bf 16
        asm.load(Size::W, R7, R6, 76); // 61 67 4c 00
        asm.mov_imm(R0, -1); // b7 00 .. ff ff ff ff
        asm.swap_be(R2, 16); // dc 02 .. 10 00 00 00
        asm.atomic_add64(R9, 32, R2); // db 29 20 00 00 00 00 00
        asm.exit(); // 95
        let bytes = asm.finish().unwrap_or_default();
        assert_eq!(&bytes[0..2], &[0xbf, 0x16]);
        assert_eq!(&bytes[8..12], &[0x61, 0x67, 0x4c, 0x00]);
        assert_eq!(&bytes[16..24], &[0xb7, 0x00, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(&bytes[24..32], &[0xdc, 0x02, 0, 0, 16, 0, 0, 0]);
        assert_eq!(&bytes[32..40], &[0xdb, 0x29, 0x20, 0, 0, 0, 0, 0]);
        assert_eq!(bytes[40], 0x95);
    }

    #[test]
    fn jumps_are_relative_to_the_next_instruction() {
        let mut asm = Asm::default();
        let out = asm.label();
        asm.jump_imm(Cond::Eq, R0, 0, out);
        asm.mov_imm(R0, 1);
        asm.bind(out);
        asm.exit();
        let bytes = asm.finish().unwrap_or_default();
        assert_eq!(i16::from_le_bytes([bytes[2], bytes[3]]), 1);
    }

    #[test]
    fn an_unbound_label_is_an_error() {
        let mut asm = Asm::default();
        let nowhere = asm.label();
        asm.goto(nowhere);
        assert_eq!(asm.finish(), Err(AsmError::Unbound(0)));
    }
}
