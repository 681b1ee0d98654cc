; kernel/arch/switch.asm — cooperative context switch and thread start.
;
; arch_switch(&prev->rsp, next_rsp) saves the callee-saved registers the SysV
; ABI makes the callee keep (RBX, RBP, R12-R15) on the old stack, stores its
; RSP, loads the new one and pops the same set. Everything else is the
; caller's: this is a function call, so SSE and the other registers need no
; saving (docs/contributing.md, Layers).
;
; A new thread's stack is built by kernel/sched.c so that arch_switch "returns"
; into thread_start with RBX = the thread; thread_start calls
; sched_thread_main(thread) with RBP = 0, so every thread's frame chain ends
; at its first frame.

bits 64
section .text

extern sched_thread_main
global arch_switch
global thread_start

arch_switch:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    mov [rdi], rsp
    mov rsp, rsi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

thread_start:
    xor ebp, ebp
    mov rdi, rbx
    call sched_thread_main
    ud2                             ; sched_thread_main never returns
