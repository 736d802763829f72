//! The cranelift JIT: compiles one checked condition to a native function over a flat
//! `#[repr(C)]` slot array, one slot per field the condition reads.
//!
//! Each condition becomes two functions in one module: `from_slots` reads inputs the caller
//! already resolved and tagged, `from_root` receives the root JSON object and looks each
//! field up itself through `af_lookup` (at the point of use when the field is read once, so
//! short-circuited fields cost nothing; once on entry when it is read several times).
//!
//! Only this file contains `unsafe` in the condition language. Inline code handles booleans,
//! numbers, tag tests and comparisons with constants; everything else (string contents,
//! lists, `lower`, `len`) calls small `extern "C"` helpers that rebuild an interpreter value
//! and run the shared `semantics` functions, so the JIT never defines behaviour of its own.

use super::ast::FieldPath;
use super::check::{CheckedExpr, CompareOp, Const, Function, Node};
use super::interp::{Val, eval_node, lower_affix_call, semantics};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    self, AbiParam, BlockArg, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind, types,
};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, Module, default_libcall_names};
use serde_json::Value;
use std::borrow::Cow;
use std::mem::MaybeUninit;
use std::sync::OnceLock;

const TAG_NULL: u64 = 0;
const TAG_BOOL: u64 = 1;
const TAG_NUMBER: u64 = 2;
const TAG_STRING: u64 = 3;
const TAG_LIST: u64 = 4;
const TAG_OBJECT: u64 = 5;

/// One input value in the layout the native code reads: a type tag and two payload words.
///
/// Bool: `word` is 0 or 1. Number: `word` holds the f64 bits. String: `word` is the UTF-8
/// pointer and `len` the byte length. List/Object: `word` points at the `serde_json::Value`
/// itself (and `len` is the list length). Null and missing are tag 0.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct Slot {
    tag: u64,
    word: u64,
    len: u64,
}

const SLOT_SIZE: i32 = std::mem::size_of::<Slot>() as i32;

impl Slot {
    const NULL: Slot = Slot {
        tag: TAG_NULL,
        word: 0,
        len: 0,
    };

    /// Borrows `value` into a slot: no allocation, the slot is valid while `value` is.
    #[inline]
    fn from_json(value: Option<&Value>) -> Slot {
        match value {
            None | Some(Value::Null) => Slot::NULL,
            Some(Value::Bool(b)) => Slot {
                tag: TAG_BOOL,
                word: u64::from(*b),
                len: 0,
            },
            Some(Value::Number(n)) => Slot {
                tag: TAG_NUMBER,
                word: n.as_f64().unwrap_or(f64::NAN).to_bits(),
                len: 0,
            },
            Some(Value::String(s)) => Slot {
                tag: TAG_STRING,
                word: s.as_ptr() as u64,
                len: s.len() as u64,
            },
            Some(list @ Value::Array(items)) => Slot {
                tag: TAG_LIST,
                word: list as *const Value as u64,
                len: items.len() as u64,
            },
            Some(object @ Value::Object(_)) => Slot {
                tag: TAG_OBJECT,
                word: object as *const Value as u64,
                len: 0,
            },
        }
    }

    /// Rebuilds the interpreter's view of a slot.
    ///
    /// # Safety
    /// The slot must come from `Slot::from_json`, a constant of a live `JitCondition`, or the
    /// current evaluation's `Arena`, and the data it points into must outlive `'a`.
    unsafe fn to_val<'a>(self) -> Val<'a> {
        match self.tag {
            TAG_BOOL => Val::Bool(self.word != 0),
            TAG_NUMBER => Val::Number(f64::from_bits(self.word)),
            TAG_STRING => {
                // SAFETY: per the contract, `word..word+len` is the UTF-8 of a live `str`.
                let bytes = unsafe {
                    std::slice::from_raw_parts(self.word as *const u8, self.len as usize)
                };
                // SAFETY: the bytes were a `str` when the slot was made.
                Val::Str(Cow::Borrowed(unsafe {
                    std::str::from_utf8_unchecked(bytes)
                }))
            }
            TAG_LIST | TAG_OBJECT => {
                // SAFETY: per the contract, `word` points at a live `serde_json::Value`.
                Val::from_json(Some(unsafe { &*(self.word as *const Value) }))
            }
            _ => Val::Null,
        }
    }
}

/// Bytes of lowered ASCII text one evaluation can hold without touching the heap.
const ARENA_INLINE: usize = 256;

/// Strings produced by `lower` during one evaluation; freed when the evaluation returns.
///
/// Lowered ASCII text that fits goes into `inline` (uninitialised until written, so creating
/// an arena costs nothing); anything else is allocated in `spill`.
struct Arena {
    used: usize,
    inline: MaybeUninit<[u8; ARENA_INLINE]>,
    spill: Vec<String>,
}

impl Arena {
    fn new() -> Arena {
        Arena {
            used: 0,
            inline: MaybeUninit::uninit(),
            spill: Vec::new(),
        }
    }

    /// Stores the lower-case form of `text`, returning a slot that borrows the arena.
    fn lower(&mut self, input: Slot, text: &str) -> Slot {
        if text.is_ascii() && text.len() <= ARENA_INLINE - self.used {
            if !text.bytes().any(|b| b.is_ascii_uppercase()) {
                return input;
            }
            // SAFETY: `used + text.len() <= ARENA_INLINE`, so the writes stay inside `inline`;
            // bytes before `used` are never rewritten, so earlier slots stay valid.
            let start = unsafe { self.inline.as_mut_ptr().cast::<u8>().add(self.used) };
            for (offset, byte) in text.bytes().enumerate() {
                // SAFETY: in bounds, as above.
                unsafe { start.add(offset).write(byte.to_ascii_lowercase()) };
            }
            self.used += text.len();
            return Slot {
                tag: TAG_STRING,
                word: start as u64,
                len: text.len() as u64,
            };
        }
        match semantics::lower_str(Cow::Borrowed(text)) {
            Cow::Borrowed(_) => input,
            Cow::Owned(lowered) => {
                let slot = Slot {
                    tag: TAG_STRING,
                    word: lowered.as_ptr() as u64,
                    len: lowered.len() as u64,
                };
                // The string's heap buffer does not move when `spill` grows.
                self.spill.push(lowered);
                slot
            }
        }
    }
}

type SlotsFn = unsafe extern "C" fn(*const Slot, *mut Arena) -> u8;
type RootFn = unsafe extern "C" fn(*const Value, *mut Arena) -> u8;

/// A condition compiled to native code, owning the module that holds the code.
pub(super) struct JitCondition {
    from_slots: SlotsFn,
    from_root: RootFn,
    field_count: usize,
    /// False when the code never calls `af_lower`, so evaluations pass a null arena.
    uses_arena: bool,
    module: Option<JITModule>,
    /// The paths `from_root` looks up: the code holds pointers to these elements, so the
    /// slice is never resized and lives exactly as long as the code.
    _paths: Box<[FieldPath]>,
    /// The tree the code was generated from: the code reads its string and list constants
    /// in place, so it must live exactly as long as the code.
    _constants: Node,
}

// SAFETY: after `finalize_definitions` the module is never touched again except by `Drop`,
// which has exclusive access; the native function only reads its arguments and the
// immutable constants in `root`, so sharing or moving the condition across threads is sound.
unsafe impl Send for JitCondition {}
// SAFETY: see the `Send` impl; `eval` takes `&self` and mutates nothing shared.
unsafe impl Sync for JitCondition {}

impl Drop for JitCondition {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: `function` is owned by `self` and is being dropped with it, so no
            // pointer into the module's code is called after this.
            unsafe { module.free_memory() };
        }
    }
}

/// Slots for this many fields live on the stack during `eval`; more use one Vec (`eval_root`
/// never needs either: its slots are in the generated function's own frame).
const INLINE_SLOTS: usize = 16;

impl JitCondition {
    /// Generates native code for `checked`.
    pub(super) fn compile(checked: &CheckedExpr) -> Result<JitCondition, String> {
        let isa = host_isa()?;
        let root = checked.root.clone();
        let paths: Box<[FieldPath]> = checked.fields().into();
        let mut module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
        let (from_slots, from_root) = match generate(&mut module, &root, &paths) {
            Ok(code) => code,
            Err(error) => {
                // SAFETY: nothing from this module was handed out.
                unsafe { module.free_memory() };
                return Err(error);
            }
        };
        // SAFETY: `generate` built `from_slots` with exactly the signature of `SlotsFn` and
        // `from_root` with that of `RootFn` (two pointers in, one i8 out, host convention).
        let (from_slots, from_root) = unsafe {
            (
                std::mem::transmute::<*const u8, SlotsFn>(from_slots),
                std::mem::transmute::<*const u8, RootFn>(from_root),
            )
        };
        Ok(JitCondition {
            from_slots,
            from_root,
            field_count: checked.fields().len(),
            uses_arena: calls_lower(&root),
            module: Some(module),
            _paths: paths,
            _constants: root,
        })
    }

    /// Fills the slots from `inputs` and runs the native code.
    #[inline]
    pub(super) fn eval(&self, inputs: &[Option<&Value>]) -> bool {
        let fill = |index: usize| Slot::from_json(inputs.get(index).copied().flatten());
        if self.field_count <= INLINE_SLOTS {
            // Only the first `field_count` slots are written, and only those are read.
            let mut slots = MaybeUninit::<[Slot; INLINE_SLOTS]>::uninit();
            let first = slots.as_mut_ptr().cast::<Slot>();
            for index in 0..self.field_count {
                // SAFETY: `index < field_count <= INLINE_SLOTS`, inside the array.
                unsafe { first.add(index).write(fill(index)) };
            }
            self.run_slots(first)
        } else {
            let slots: Vec<Slot> = (0..self.field_count).map(fill).collect();
            self.run_slots(slots.as_ptr())
        }
    }

    /// Runs `from_slots` on `field_count` initialised slots at `slots`.
    #[inline]
    fn run_slots(&self, slots: *const Slot) -> bool {
        let result = if self.uses_arena {
            let mut arena = Arena::new();
            // SAFETY: `slots` holds `field_count` initialised slots borrowing the caller's
            // inputs, which outlive the call; the code reads only those slots, the constants
            // in `self._constants` and `arena`, all alive for the call.
            unsafe { (self.from_slots)(slots, &mut arena) }
        } else {
            // SAFETY: as above; the code never touches the arena, so null is never read.
            unsafe { (self.from_slots)(slots, std::ptr::null_mut()) }
        };
        result != 0
    }

    /// Runs the native code on `root`, which looks up every field itself.
    #[inline]
    pub(super) fn eval_root(&self, root: &Value) -> bool {
        let result = if self.uses_arena {
            let mut arena = Arena::new();
            // SAFETY: `root` outlives the call; the code reads it only through `af_lookup`
            // with pointers into `self._paths`, plus the constants and `arena`.
            unsafe { (self.from_root)(root, &mut arena) }
        } else {
            // SAFETY: as above; the code never touches the arena, so null is never read.
            unsafe { (self.from_root)(root, std::ptr::null_mut()) }
        };
        result != 0
    }
}

/// True when the code for `node` may call `af_lower` (a `lower` not fused into an affix test).
fn calls_lower(node: &Node) -> bool {
    match node {
        Node::Const(_) | Node::Slot(_) => false,
        Node::Not(a) => calls_lower(a),
        Node::And(a, b) | Node::Or(a, b) | Node::Compare(_, a, b) | Node::In(a, b) => {
            calls_lower(a) || calls_lower(b)
        }
        Node::Call(function, args) => match lower_affix_call(*function, args) {
            Some((text, affix, _)) => calls_lower(text) || calls_lower(affix),
            None => *function == Function::Lower || args.iter().any(calls_lower),
        },
    }
}

/// Counts how often each field index is read by non-constant code.
fn count_reads(node: &Node, counts: &mut [u32]) {
    match node {
        Node::Const(_) => {}
        Node::Slot(index) => {
            if let Some(count) = counts.get_mut(*index) {
                *count = count.saturating_add(1);
            }
        }
        Node::Not(a) => count_reads(a, counts),
        Node::And(a, b) | Node::Or(a, b) | Node::Compare(_, a, b) | Node::In(a, b) => {
            count_reads(a, counts);
            count_reads(b, counts);
        }
        Node::Call(_, args) => args.iter().for_each(|arg| count_reads(arg, counts)),
    }
}

fn host_isa() -> Result<OwnedTargetIsa, String> {
    static ISA: OnceLock<Result<OwnedTargetIsa, String>> = OnceLock::new();
    ISA.get_or_init(|| {
        let mut flags = settings::builder();
        for (name, value) in [
            ("use_colocated_libcalls", "false"),
            ("is_pic", "false"),
            ("opt_level", "speed"),
        ] {
            flags
                .set(name, value)
                .map_err(|error| format!("cranelift flag {name}: {error}"))?;
        }
        let builder = cranelift_native::builder()
            .map_err(|error| format!("host not supported by cranelift: {error}"))?;
        builder
            .finish(settings::Flags::new(flags))
            .map_err(|error| format!("cranelift ISA: {error}"))
    })
    .clone()
}

fn generate(
    module: &mut JITModule,
    root: &Node,
    paths: &[FieldPath],
) -> Result<(*const u8, *const u8), String> {
    let ptr = module.target_config().pointer_type();
    let mut ctx = module.make_context();
    ctx.func.signature.params.push(AbiParam::new(ptr));
    ctx.func.signature.params.push(AbiParam::new(ptr));
    ctx.func.signature.returns.push(AbiParam::new(types::I8));
    let mut builder_ctx = FunctionBuilderContext::new();
    let mut ids = Vec::with_capacity(2);
    for (name, from_root) in [("from_slots", false), ("from_root", true)] {
        let id = module
            .declare_function(name, Linkage::Local, &ctx.func.signature)
            .map_err(|error| format!("declare {name}: {error}"))?;
        {
            let mut b = FunctionBuilder::new(&mut ctx.func, &mut builder_ctx);
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            let input = b.block_params(entry)[0];
            let arena = b.block_params(entry)[1];
            let source = if from_root {
                let mut counts = vec![0u32; paths.len()];
                count_reads(root, &mut counts);
                Source::Root {
                    root: input,
                    paths: paths.as_ptr(),
                    path_count: paths.len(),
                    eager: vec![None; paths.len()],
                }
                .with_eager(&counts)
            } else {
                Source::Slots(input)
            };
            let mut g = Gen {
                b,
                source,
                arena,
                ptr,
                sigs: None,
            };
            g.load_eager();
            let value = g.node(root);
            let result = g.truthy(value);
            g.b.ins().return_(&[result]);
            g.b.seal_all_blocks();
            g.b.finalize(module.target_config());
        }
        module
            .define_function(id, &mut ctx)
            .map_err(|error| format!("define {name}: {error:?}"))?;
        module.clear_context(&mut ctx);
        ctx.func.signature.params.push(AbiParam::new(ptr));
        ctx.func.signature.params.push(AbiParam::new(ptr));
        ctx.func.signature.returns.push(AbiParam::new(types::I8));
        ids.push(id);
    }
    module
        .finalize_definitions()
        .map_err(|error| format!("finalize: {error}"))?;
    Ok((
        module.get_finalized_function(ids[0]),
        module.get_finalized_function(ids[1]),
    ))
}

/// Where the generated code reads field values from.
enum Source {
    /// A pointer to the caller's slot array.
    Slots(ir::Value),
    /// The root JSON object; fields are looked up with `af_lookup`.
    Root {
        root: ir::Value,
        /// The first of `path_count` paths owned by the `JitCondition`.
        paths: *const FieldPath,
        path_count: usize,
        /// Per field: `Some(None)` when it is read several times and must be looked up on
        /// entry (`load_eager` fills in the triple), `None` when it is looked up at its use.
        eager: Vec<Option<Option<Triple>>>,
    },
}

type Triple = (ir::Value, ir::Value, ir::Value);

impl Source {
    fn with_eager(mut self, counts: &[u32]) -> Source {
        if let Source::Root { eager, .. } = &mut self {
            for (slot, count) in eager.iter_mut().zip(counts) {
                if *count > 1 {
                    *slot = Some(None);
                }
            }
        }
        self
    }
}

/// A compiled sub-expression: a known boolean, a tagged triple, or a constant still foldable.
#[derive(Clone, Copy)]
enum CVal<'n> {
    Bool(ir::Value),
    Triple(ir::Value, ir::Value, ir::Value),
    Const(ConstRef<'n>),
}

/// A constant borrowed from the tree; its strings and lists stay at fixed addresses.
#[derive(Clone, Copy)]
enum ConstRef<'n> {
    Null,
    Bool(bool),
    Number(f64),
    Str(&'n str),
    List(&'n Value),
}

impl<'n> ConstRef<'n> {
    fn from_const(constant: &'n Const) -> ConstRef<'n> {
        match constant {
            Const::Null => ConstRef::Null,
            Const::Bool(b) => ConstRef::Bool(*b),
            Const::Number(n) => ConstRef::Number(*n),
            Const::String(s) => ConstRef::Str(s),
            Const::List(list) => ConstRef::List(list),
        }
    }

    fn from_json(value: &'n Value) -> ConstRef<'n> {
        match value {
            Value::Null => ConstRef::Null,
            Value::Bool(b) => ConstRef::Bool(*b),
            Value::Number(n) => ConstRef::Number(n.as_f64().unwrap_or(f64::NAN)),
            Value::String(s) => ConstRef::Str(s),
            Value::Array(_) | Value::Object(_) => ConstRef::List(value),
        }
    }

    fn to_val(self) -> Val<'n> {
        match self {
            ConstRef::Null => Val::Null,
            ConstRef::Bool(b) => Val::Bool(b),
            ConstRef::Number(n) => Val::Number(n),
            ConstRef::Str(s) => Val::Str(Cow::Borrowed(s)),
            ConstRef::List(list) => Val::from_json(Some(list)),
        }
    }
}

/// Helper signatures, imported into the function on first use.
#[derive(Clone, Copy)]
struct Sigs {
    binary: ir::SigRef,
    order: ir::SigRef,
    bytes_eq: ir::SigRef,
    lower: ir::SigRef,
    len: ir::SigRef,
    lookup: ir::SigRef,
}

struct Gen<'f> {
    b: FunctionBuilder<'f>,
    source: Source,
    arena: ir::Value,
    ptr: ir::Type,
    sigs: Option<Sigs>,
}

impl<'n> Gen<'_> {
    fn node(&mut self, node: &'n Node) -> CVal<'n> {
        // A sub-tree that reads no input is evaluated now by the reference interpreter.
        if !matches!(node, Node::Const(_))
            && node.is_constant()
            && let Val::Bool(b) = eval_node(node, &[] as &[Option<&Value>])
        {
            return CVal::Bool(self.b.ins().iconst(types::I8, i64::from(b)));
        }
        match node {
            Node::Const(constant) => CVal::Const(ConstRef::from_const(constant)),
            Node::Slot(index) => {
                let (tag, word, len) = self.read_field(*index);
                CVal::Triple(tag, word, len)
            }
            Node::Not(operand) => {
                let value = self.node(operand);
                let truth = self.truthy(value);
                CVal::Bool(self.b.ins().bxor_imm_u(truth, 1))
            }
            Node::And(lhs, rhs) => CVal::Bool(self.short_circuit(lhs, rhs, true)),
            Node::Or(lhs, rhs) => CVal::Bool(self.short_circuit(lhs, rhs, false)),
            Node::Compare(op, lhs, rhs) => {
                let (l, r) = (self.node(lhs), self.node(rhs));
                CVal::Bool(self.compare(*op, l, r))
            }
            Node::In(needle, list) => {
                let needle = self.node(needle);
                let list = self.node(list);
                CVal::Bool(self.member(needle, list))
            }
            Node::Call(function, args) => self.call(*function, args),
        }
    }

    /// Looks up, on entry, every field that `from_root` reads more than once.
    fn load_eager(&mut self) {
        let count = match &self.source {
            Source::Root { eager, .. } => eager.len(),
            Source::Slots(_) => 0,
        };
        for index in 0..count {
            if let Source::Root { eager, .. } = &self.source
                && eager[index].is_some()
            {
                let triple = self.lookup(index);
                if let Source::Root { eager, .. } = &mut self.source {
                    eager[index] = Some(Some(triple));
                }
            }
        }
    }

    /// The tagged triple of field `index` at this point of the code.
    fn read_field(&mut self, index: usize) -> Triple {
        match &self.source {
            Source::Slots(slots) => {
                let slots = *slots;
                let flags = MemFlagsData::trusted().with_readonly();
                let base = i32::try_from(index)
                    .unwrap_or(i32::MAX / SLOT_SIZE)
                    .saturating_mul(SLOT_SIZE);
                let tag = self.b.ins().load(types::I64, flags, slots, base);
                let word = self.b.ins().load(types::I64, flags, slots, base + 8);
                let len = self.b.ins().load(types::I64, flags, slots, base + 16);
                (tag, word, len)
            }
            Source::Root { eager, .. } => match eager.get(index) {
                Some(Some(Some(triple))) => *triple,
                _ => self.lookup(index),
            },
        }
    }

    /// Emits a call to `af_lookup` for field `index` and loads the slot it writes.
    fn lookup(&mut self, index: usize) -> Triple {
        let Source::Root {
            root,
            paths,
            path_count,
            ..
        } = &self.source
        else {
            return self.null_triple();
        };
        if index >= *path_count {
            // Field indices come from the same `CheckedExpr` as the paths; stay total anyway.
            return self.null_triple();
        }
        let root = *root;
        let path = paths.wrapping_add(index) as i64;
        let out = self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            SLOT_SIZE as u32,
            3,
        ));
        let out_addr = self.b.ins().stack_addr(self.ptr, out, 0);
        let path = self.b.ins().iconst(self.ptr, path);
        let sig = self.sigs().lookup;
        self.call_helper(sig, af_lookup as *const u8, &[root, path, out_addr]);
        let tag = self.b.ins().stack_load(self.ptr, types::I64, out, 0);
        let word = self.b.ins().stack_load(self.ptr, types::I64, out, 8);
        let len = self.b.ins().stack_load(self.ptr, types::I64, out, 16);
        (tag, word, len)
    }

    fn null_triple(&mut self) -> Triple {
        let zero = self.b.ins().iconst(types::I64, 0);
        (zero, zero, zero)
    }

    fn sigs(&mut self) -> Sigs {
        if let Some(sigs) = self.sigs {
            return sigs;
        }
        let call_conv = self.b.func.signature.call_conv;
        let mut make = |params: &[ir::Type], returns: &[ir::Type]| {
            let mut sig = ir::Signature::new(call_conv);
            sig.params
                .extend(params.iter().map(|ty| AbiParam::new(*ty)));
            sig.returns
                .extend(returns.iter().map(|ty| AbiParam::new(*ty)));
            self.b.import_signature(sig)
        };
        let i64 = types::I64;
        let sigs = Sigs {
            binary: make(&[i64; 6], &[types::I8]),
            order: make(&[types::I32, i64, i64, i64, i64, i64, i64], &[types::I8]),
            bytes_eq: make(&[i64, i64, i64], &[types::I8]),
            lower: make(&[self.ptr, i64, i64, i64, self.ptr], &[]),
            len: make(&[i64, i64, i64], &[types::F64]),
            lookup: make(&[self.ptr, self.ptr, self.ptr], &[]),
        };
        self.sigs = Some(sigs);
        sigs
    }

    fn call_helper(
        &mut self,
        sig: ir::SigRef,
        address: *const u8,
        args: &[ir::Value],
    ) -> Option<ir::Value> {
        let callee = self.b.ins().iconst(self.ptr, address as i64);
        let inst = self.b.ins().call_indirect(sig, callee, args);
        self.b.inst_results(inst).first().copied()
    }

    fn call_binary(&mut self, helper: BinaryHelper, a: CVal<'n>, b: CVal<'n>) -> ir::Value {
        let (at, aw, al) = self.materialize(a);
        let (bt, bw, bl) = self.materialize(b);
        let sig = self.sigs().binary;
        self.call_helper(sig, helper as *const u8, &[at, aw, al, bt, bw, bl])
            .unwrap_or_else(|| self.b.ins().iconst(types::I8, 0))
    }

    fn materialize(&mut self, value: CVal<'n>) -> (ir::Value, ir::Value, ir::Value) {
        let i64 = types::I64;
        let (tag, word, len): (u64, u64, u64) = match value {
            CVal::Triple(t, w, l) => return (t, w, l),
            CVal::Bool(v) => {
                let tag = self.b.ins().iconst(i64, TAG_BOOL as i64);
                let word = self.b.ins().uextend(i64, v);
                let len = self.b.ins().iconst(i64, 0);
                return (tag, word, len);
            }
            CVal::Const(ConstRef::Null) => (TAG_NULL, 0, 0),
            CVal::Const(ConstRef::Bool(b)) => (TAG_BOOL, u64::from(b), 0),
            CVal::Const(ConstRef::Number(n)) => (TAG_NUMBER, n.to_bits(), 0),
            CVal::Const(ConstRef::Str(s)) => (TAG_STRING, s.as_ptr() as u64, s.len() as u64),
            CVal::Const(ConstRef::List(list)) => {
                let slot = Slot::from_json(Some(list));
                (slot.tag, slot.word, slot.len)
            }
        };
        let tag = self.b.ins().iconst(i64, tag as i64);
        let word = self.b.ins().iconst(i64, word as i64);
        let len = self.b.ins().iconst(i64, len as i64);
        (tag, word, len)
    }

    fn truthy(&mut self, value: CVal<'n>) -> ir::Value {
        match value {
            CVal::Bool(v) => v,
            CVal::Const(constant) => self.b.ins().iconst(
                types::I8,
                i64::from(matches!(constant, ConstRef::Bool(true))),
            ),
            CVal::Triple(tag, word, _) => {
                let is_bool = self.b.ins().icmp_imm_u(IntCC::Equal, tag, TAG_BOOL as i64);
                let is_set = self.b.ins().icmp_imm_u(IntCC::NotEqual, word, 0);
                self.b.ins().band(is_bool, is_set)
            }
        }
    }

    fn short_circuit(&mut self, lhs: &'n Node, rhs: &'n Node, is_and: bool) -> ir::Value {
        let left = self.node(lhs);
        let left = self.truthy(left);
        let rhs_block = self.b.create_block();
        let merge = self.b.create_block();
        let result = self.b.append_block_param(merge, types::I8);
        let pass = [BlockArg::Value(left)];
        if is_and {
            self.b.ins().brif(left, rhs_block, &[], merge, &pass);
        } else {
            self.b.ins().brif(left, merge, &pass, rhs_block, &[]);
        }
        self.b.switch_to_block(rhs_block);
        let right = self.node(rhs);
        let right = self.truthy(right);
        self.b.ins().jump(merge, &[BlockArg::Value(right)]);
        self.b.switch_to_block(merge);
        result
    }

    fn compare(&mut self, op: CompareOp, l: CVal<'n>, r: CVal<'n>) -> ir::Value {
        match op {
            CompareOp::Eq => self.equal(l, r),
            CompareOp::Ne => {
                let eq = self.equal(l, r);
                self.b.ins().bxor_imm_u(eq, 1)
            }
            _ => match (l, r) {
                (CVal::Triple(tag, word, _), CVal::Const(ConstRef::Number(n))) => {
                    self.number_order(op, tag, word, n)
                }
                (CVal::Const(ConstRef::Number(n)), CVal::Triple(tag, word, _)) => {
                    self.number_order(op.flipped(), tag, word, n)
                }
                _ => {
                    let (at, aw, al) = self.materialize(l);
                    let (bt, bw, bl) = self.materialize(r);
                    let code = self.b.ins().iconst(types::I32, order_code(op));
                    let sig = self.sigs().order;
                    self.call_helper(sig, af_order as *const u8, &[code, at, aw, al, bt, bw, bl])
                        .unwrap_or_else(|| self.b.ins().iconst(types::I8, 0))
                }
            },
        }
    }

    /// `tag == NUMBER && f64(word) op n`, inline.
    fn number_order(
        &mut self,
        op: CompareOp,
        tag: ir::Value,
        word: ir::Value,
        n: f64,
    ) -> ir::Value {
        let cc = match op {
            CompareOp::Lt => FloatCC::LessThan,
            CompareOp::Le => FloatCC::LessThanOrEqual,
            CompareOp::Gt => FloatCC::GreaterThan,
            CompareOp::Ge => FloatCC::GreaterThanOrEqual,
            CompareOp::Eq => FloatCC::Equal,
            CompareOp::Ne => FloatCC::OrderedNotEqual,
        };
        let is_number = self
            .b
            .ins()
            .icmp_imm_u(IntCC::Equal, tag, TAG_NUMBER as i64);
        let x = self.b.ins().bitcast(types::F64, MemFlagsData::new(), word);
        let y = self.b.ins().f64const(n);
        let holds = self.b.ins().fcmp(cc, x, y);
        self.b.ins().band(is_number, holds)
    }

    fn equal(&mut self, l: CVal<'n>, r: CVal<'n>) -> ir::Value {
        match (l, r) {
            (CVal::Const(a), CVal::Const(b)) => {
                let same = semantics::equal(&a.to_val(), &b.to_val());
                self.b.ins().iconst(types::I8, i64::from(same))
            }
            (CVal::Const(c), other) | (other, CVal::Const(c)) => self.equal_const(other, c),
            (CVal::Bool(a), CVal::Bool(b)) => self.b.ins().icmp(IntCC::Equal, a, b),
            _ => self.call_binary(af_equal, l, r),
        }
    }

    fn equal_const(&mut self, value: CVal<'n>, constant: ConstRef<'n>) -> ir::Value {
        let (tag, word, len) = match value {
            CVal::Bool(v) => {
                return match constant {
                    ConstRef::Bool(b) => self.b.ins().icmp_imm_u(IntCC::Equal, v, i64::from(b)),
                    _ => self.b.ins().iconst(types::I8, 0),
                };
            }
            CVal::Triple(t, w, l) => (t, w, l),
            CVal::Const(other) => {
                let same = semantics::equal(&other.to_val(), &constant.to_val());
                return self.b.ins().iconst(types::I8, i64::from(same));
            }
        };
        match constant {
            ConstRef::Null => self.b.ins().icmp_imm_u(IntCC::Equal, tag, TAG_NULL as i64),
            ConstRef::Bool(b) => {
                let is_bool = self.b.ins().icmp_imm_u(IntCC::Equal, tag, TAG_BOOL as i64);
                let same = self.b.ins().icmp_imm_u(IntCC::Equal, word, i64::from(b));
                self.b.ins().band(is_bool, same)
            }
            ConstRef::Number(n) => self.number_order(CompareOp::Eq, tag, word, n),
            ConstRef::Str(s) => self.string_equal_const(tag, word, len, s),
            ConstRef::List(_) => self.call_binary(af_equal, value, CVal::Const(constant)),
        }
    }

    /// Tag and length are tested inline; the bytes are compared only when both match.
    fn string_equal_const(
        &mut self,
        tag: ir::Value,
        word: ir::Value,
        len: ir::Value,
        s: &'n str,
    ) -> ir::Value {
        let is_string = self
            .b
            .ins()
            .icmp_imm_u(IntCC::Equal, tag, TAG_STRING as i64);
        let same_len = self.b.ins().icmp_imm_u(IntCC::Equal, len, s.len() as i64);
        let candidate = self.b.ins().band(is_string, same_len);
        if s.is_empty() {
            return candidate;
        }
        let bytes_block = self.b.create_block();
        let merge = self.b.create_block();
        let result = self.b.append_block_param(merge, types::I8);
        self.b.ins().brif(
            candidate,
            bytes_block,
            &[],
            merge,
            &[BlockArg::Value(candidate)],
        );
        self.b.switch_to_block(bytes_block);
        let same = if s.len() <= 16 {
            self.inline_bytes_equal(word, s.as_bytes())
        } else {
            let constant = self.b.ins().iconst(types::I64, s.as_ptr() as i64);
            let sig = self.sigs().bytes_eq;
            self.call_helper(sig, af_bytes_eq as *const u8, &[word, constant, len])
                .unwrap_or_else(|| self.b.ins().iconst(types::I8, 0))
        };
        self.b.ins().jump(merge, &[BlockArg::Value(same)]);
        self.b.switch_to_block(merge);
        result
    }

    /// Compares up to 16 bytes at `ptr` with `expected` using at most two loads, which may
    /// overlap (three bytes are checked as bytes 0..2 and 1..3). Only called once the slot is
    /// known to be a string of exactly `expected.len()` bytes, so every load is in bounds.
    fn inline_bytes_equal(&mut self, ptr: ir::Value, expected: &[u8]) -> ir::Value {
        let n = expected.len();
        let pieces: &[(usize, usize)] = match n {
            1 | 2 | 4 | 8 => &[(0, n)],
            3 => &[(0, 2), (1, 2)],
            5..=7 => &[(0, 4), (n - 4, 4)],
            _ => &[(0, 8), (n - 8, 8)],
        };
        let flags = MemFlagsData::new().with_notrap().with_readonly();
        let mut all = self.b.ins().iconst(types::I8, 1);
        for &(offset, width) in pieces {
            let chunk = &expected[offset..offset + width];
            // The value a `width`-byte load of `chunk` yields on the host, which is the target.
            let value = if cfg!(target_endian = "little") {
                chunk
                    .iter()
                    .rev()
                    .fold(0u64, |acc, byte| acc << 8 | u64::from(*byte))
            } else {
                chunk
                    .iter()
                    .fold(0u64, |acc, byte| acc << 8 | u64::from(*byte))
            };
            let ty = match width {
                1 => types::I8,
                2 => types::I16,
                4 => types::I32,
                _ => types::I64,
            };
            let loaded = self.b.ins().load(ty, flags, ptr, offset as i32);
            let same = self.b.ins().icmp_imm_u(IntCC::Equal, loaded, value as i64);
            all = self.b.ins().band(all, same);
        }
        all
    }

    fn member(&mut self, needle: CVal<'n>, list: CVal<'n>) -> ir::Value {
        match (needle, list) {
            (
                CVal::Bool(_) | CVal::Triple(..),
                CVal::Const(ConstRef::List(Value::Array(items))),
            ) => {
                // A literal list becomes a chain of inline comparisons with its items.
                let mut any = self.b.ins().iconst(types::I8, 0);
                for item in items {
                    let hit = self.equal_const(needle, ConstRef::from_json(item));
                    any = self.b.ins().bor(any, hit);
                }
                any
            }
            _ => self.call_binary(af_member, needle, list),
        }
    }

    fn call(&mut self, function: Function, args: &'n [Node]) -> CVal<'n> {
        if let Some((text, affix, at_start)) = lower_affix_call(function, args) {
            let (text, affix) = (self.node(text), self.node(affix));
            let helper: BinaryHelper = if at_start {
                af_lower_starts_with
            } else {
                af_lower_ends_with
            };
            return CVal::Bool(self.call_binary(helper, text, affix));
        }
        let mut values: Vec<CVal<'n>> = args.iter().map(|arg| self.node(arg)).collect();
        // Arity was checked; padding with null keeps this total for any tree.
        while values.len() < 2 {
            values.push(CVal::Const(ConstRef::Null));
        }
        let (first, second) = (values[0], values[1]);
        match function {
            Function::StartsWith => CVal::Bool(self.call_binary(af_starts_with, first, second)),
            Function::EndsWith => CVal::Bool(self.call_binary(af_ends_with, first, second)),
            Function::Contains => CVal::Bool(self.call_binary(af_contains, first, second)),
            Function::Lower => {
                let (t, w, l) = self.materialize(first);
                let out = self.b.create_sized_stack_slot(StackSlotData::new(
                    StackSlotKind::ExplicitSlot,
                    SLOT_SIZE as u32,
                    3,
                ));
                let out_addr = self.b.ins().stack_addr(self.ptr, out, 0);
                let sig = self.sigs().lower;
                let arena = self.arena;
                self.call_helper(sig, af_lower as *const u8, &[arena, t, w, l, out_addr]);
                let tag = self.b.ins().stack_load(self.ptr, types::I64, out, 0);
                let word = self.b.ins().stack_load(self.ptr, types::I64, out, 8);
                let len = self.b.ins().stack_load(self.ptr, types::I64, out, 16);
                CVal::Triple(tag, word, len)
            }
            Function::Len => {
                let (t, w, l) = self.materialize(first);
                let sig = self.sigs().len;
                let Some(count) = self.call_helper(sig, af_len as *const u8, &[t, w, l]) else {
                    return CVal::Const(ConstRef::Null);
                };
                // The helper signals "no length" with NaN, which no real length can be.
                let is_null = self.b.ins().fcmp(FloatCC::Unordered, count, count);
                let null_tag = self.b.ins().iconst(types::I64, TAG_NULL as i64);
                let number_tag = self.b.ins().iconst(types::I64, TAG_NUMBER as i64);
                let tag = self.b.ins().select(is_null, null_tag, number_tag);
                let word = self.b.ins().bitcast(types::I64, MemFlagsData::new(), count);
                let len = self.b.ins().iconst(types::I64, 0);
                CVal::Triple(tag, word, len)
            }
        }
    }
}

fn order_code(op: CompareOp) -> i64 {
    match op {
        CompareOp::Lt => 0,
        CompareOp::Le => 1,
        CompareOp::Gt => 2,
        CompareOp::Ge => 3,
        CompareOp::Eq => 4,
        CompareOp::Ne => 5,
    }
}

type BinaryHelper = extern "C" fn(u64, u64, u64, u64, u64, u64) -> u8;

/// Rebuilds two values from raw triples for a helper.
///
/// # Safety
/// Both triples must satisfy `Slot::to_val`'s contract for the duration of the helper call;
/// the generated code only passes slots, constants of the running condition, and arena
/// strings of the running evaluation.
unsafe fn pair<'a>(a: (u64, u64, u64), b: (u64, u64, u64)) -> (Val<'a>, Val<'a>) {
    let a = Slot {
        tag: a.0,
        word: a.1,
        len: a.2,
    };
    let b = Slot {
        tag: b.0,
        word: b.1,
        len: b.2,
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { (a.to_val(), b.to_val()) }
}

extern "C" fn af_equal(at: u64, aw: u64, al: u64, bt: u64, bw: u64, bl: u64) -> u8 {
    // SAFETY: called only from generated code, which passes valid triples (see `pair`).
    let (a, b) = unsafe { pair((at, aw, al), (bt, bw, bl)) };
    u8::from(semantics::equal(&a, &b))
}

extern "C" fn af_member(at: u64, aw: u64, al: u64, bt: u64, bw: u64, bl: u64) -> u8 {
    // SAFETY: called only from generated code, which passes valid triples (see `pair`).
    let (needle, list) = unsafe { pair((at, aw, al), (bt, bw, bl)) };
    u8::from(semantics::member(&needle, &list))
}

extern "C" fn af_contains(at: u64, aw: u64, al: u64, bt: u64, bw: u64, bl: u64) -> u8 {
    // SAFETY: called only from generated code, which passes valid triples (see `pair`).
    let (haystack, needle) = unsafe { pair((at, aw, al), (bt, bw, bl)) };
    u8::from(semantics::contains(&haystack, &needle))
}

extern "C" fn af_starts_with(at: u64, aw: u64, al: u64, bt: u64, bw: u64, bl: u64) -> u8 {
    // SAFETY: called only from generated code, which passes valid triples (see `pair`).
    let (s, prefix) = unsafe { pair((at, aw, al), (bt, bw, bl)) };
    u8::from(semantics::starts_with(&s, &prefix))
}

extern "C" fn af_ends_with(at: u64, aw: u64, al: u64, bt: u64, bw: u64, bl: u64) -> u8 {
    // SAFETY: called only from generated code, which passes valid triples (see `pair`).
    let (s, suffix) = unsafe { pair((at, aw, al), (bt, bw, bl)) };
    u8::from(semantics::ends_with(&s, &suffix))
}

extern "C" fn af_lower_starts_with(at: u64, aw: u64, al: u64, bt: u64, bw: u64, bl: u64) -> u8 {
    lower_affix(at, aw, al, bt, bw, bl, true)
}

extern "C" fn af_lower_ends_with(at: u64, aw: u64, al: u64, bt: u64, bw: u64, bl: u64) -> u8 {
    lower_affix(at, aw, al, bt, bw, bl, false)
}

/// `semantics::lower_affix` on two triples, reading strings in place (the common case)
/// rather than rebuilding interpreter values.
#[inline]
fn lower_affix(at: u64, aw: u64, al: u64, bt: u64, bw: u64, bl: u64, at_start: bool) -> u8 {
    if at != TAG_STRING || bt != TAG_STRING {
        // `lower` of a non-string is null; a non-string affix never matches.
        return 0;
    }
    // SAFETY: called only from generated code, which passes valid triples (see `pair`); a
    // string triple is the pointer and byte length of a live `str`.
    let (s, affix) = unsafe {
        (
            std::str::from_utf8_unchecked(std::slice::from_raw_parts(aw as *const u8, al as usize)),
            std::str::from_utf8_unchecked(std::slice::from_raw_parts(bw as *const u8, bl as usize)),
        )
    };
    u8::from(semantics::lower_affix_str(s, affix, at_start))
}

extern "C" fn af_lookup(root: *const Value, path: *const FieldPath, out: *mut Slot) {
    // SAFETY: `root` is the `&Value` that `JitCondition::eval_root` passed in, alive for the
    // call; `path` points into the condition's `_paths`, which outlive its code.
    let value = unsafe { (*path).lookup(&*root, 0) };
    // SAFETY: `out` is a 24-byte, 8-aligned stack slot of the generated function.
    unsafe { out.write(Slot::from_json(value)) };
}

extern "C" fn af_order(code: u32, at: u64, aw: u64, al: u64, bt: u64, bw: u64, bl: u64) -> u8 {
    let op = match code {
        0 => CompareOp::Lt,
        1 => CompareOp::Le,
        2 => CompareOp::Gt,
        3 => CompareOp::Ge,
        4 => CompareOp::Eq,
        _ => CompareOp::Ne,
    };
    // SAFETY: called only from generated code, which passes valid triples (see `pair`).
    let (a, b) = unsafe { pair((at, aw, al), (bt, bw, bl)) };
    u8::from(semantics::order(op, &a, &b))
}

extern "C" fn af_bytes_eq(a: *const u8, b: *const u8, len: usize) -> u8 {
    // SAFETY: generated code calls this only after checking that the slot is a string of
    // exactly `len` bytes and `b` is a constant string of the same length.
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts(a, len),
            std::slice::from_raw_parts(b, len),
        )
    };
    u8::from(a == b)
}

extern "C" fn af_lower(arena: *mut Arena, tag: u64, word: u64, len: u64, out: *mut Slot) {
    let input = Slot { tag, word, len };
    // SAFETY: the triple is valid for this evaluation (see `pair`).
    let result = match unsafe { input.to_val() } {
        // SAFETY: `arena` is the `&mut Arena` that `JitCondition::eval` passed in for this
        // call and nothing else refers to it while the helper runs.
        Val::Str(text) => unsafe { (*arena).lower(input, &text) },
        _ => Slot::NULL,
    };
    // SAFETY: `out` is a 24-byte, 8-aligned stack slot of the generated function.
    unsafe { out.write(result) };
}

extern "C" fn af_len(tag: u64, word: u64, len: u64) -> f64 {
    // SAFETY: the triple is valid for this evaluation (see `pair`).
    match semantics::len(&unsafe { Slot { tag, word, len }.to_val() }) {
        Val::Number(n) => n,
        _ => f64::NAN,
    }
}
