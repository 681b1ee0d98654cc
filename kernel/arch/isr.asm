; kernel/arch/isr.asm — interrupt and exception entry stubs.
;
; One stub per vector (0-255). Each pushes a zero where the CPU pushes no
; error code (SDM vol. 3A, 6.13 "Error code": vectors 8, 10-14, 17, 21, 29,
; 30 have one), then the vector number, and joins isr_common, which saves the
; general registers as struct trap_frame (kernel/arch/trap.h) and calls
; trap_dispatch(frame).
;
; isr_common also links a frame record {saved RBP, interrupted RIP} and points
; RBP at it, so a frame-pointer walk from inside a handler continues into the
; interrupted code: backtraces and the profiler see one unbroken chain.
; No SSE register is touched here: cooperative switches do not save SSE state
; (docs/contributing.md, Layers), so handlers must leave it alone.

bits 64
section .text

extern trap_dispatch
global isr_stubs

; The stubs carry no labels of their own: 256 symbols would cost the
; embedded symbol table ~4 KiB. A backtrace shows isr_stubs+16*vector.
%macro ISR_STUB 1
align 16
%if (%1 == 8) || (%1 >= 10 && %1 <= 14) || (%1 == 17) || (%1 == 21) || (%1 == 29) || (%1 == 30)
    push qword %1
%else
    push qword 0
    push qword %1
%endif
    jmp isr_common
%endmacro

; Every stub is at most 15 bytes and 16-byte aligned: vector i's stub is at
; isr_stubs + 16 * i (kernel/arch/idt.c relies on it).
align 16
isr_stubs:
%assign i 0
%rep 256
ISR_STUB i
%assign i i+1
%endrep

; struct trap_frame offsets (from RSP after the pushes below)
TF_RBP      equ 10 * 8
TF_RIP      equ 17 * 8

isr_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rbp
    push rsi
    push rdi
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rbx, rsp                    ; RBX: frame, callee-saved across the call
    push qword [rbx + TF_RIP]       ; frame record: return address slot
    push qword [rbx + TF_RBP]       ;               saved RBP slot
    mov rbp, rsp
    and rsp, -16                    ; SysV: 16-byte aligned at the call
    mov rdi, rbx
    call trap_dispatch
    mov rsp, rbx
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rdi
    pop rsi
    pop rbp
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16                     ; vector and error code
    iretq
