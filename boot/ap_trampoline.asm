; boot/ap_trampoline.asm — application processor start-up and parking.
;
; The boot stub copies this blob to TRAMP_BASE (0xA000) and sends INIT and
; STARTUP IPIs to "all excluding self" (Intel MultiProcessor Specification
; 1.4, appendix B.4; SDM vol. 3A, 9.4.4 "MP Initialization Example"). Each AP
; starts in real mode at CS:IP = 0x0A00:0000, loads the blob's GDT, copies the
; boot processor's CR4, CR3, EFER and CR0 from the parameter slots (paging and
; protection on in one step, straight into long mode), and far-jumps to 64-bit
; code. There it takes a ticket (lock xadd), records its APIC id in the park
; table under that ticket, and parks: HLT with interrupts off, on a 64-byte
; stack, with an IDT holding only the NMI vector.
;
; kernel/smp.c releases a parked AP by writing its release slots (stack,
; argument, then entry) and sending it an NMI. The NMI handler jumps to the
; entry on the given stack with RBP = 0; an NMI that finds no entry returns to
; the park loop. Nothing here waits: the boot processor goes on to
; kernel_main while the APs arrive.
;
; Parameter slots, at fixed offsets from TRAMP_BASE (kernel/smp.h mirrors
; them; tests/system/test_tree.py checks that the two agree):
;   0x08  u64  CR0 to load            0x10  u64  CR3 to load
;   0x18  u64  CR4 to load            0x20  u64  EFER to load
;   0x28  u32  next ticket (atomic)   0x2C  u32  APs parked so far
; Tables after the code, at fixed addresses:
;   TRAMP_PARK_APIC    u32[TRAMP_MAX]  APIC id per ticket
;   TRAMP_PARK_STATE   u8[TRAMP_MAX]   1 once parked
;   TRAMP_RELEASE_ENTRY/RSP/ARG u64[TRAMP_MAX]
;   TRAMP_PARK_STACKS  TRAMP_MAX stacks of 64 bytes

; [0xA000, 0xE000): clear of every loader's boot information we know, so
; the stub may use it before kernel_main has copied that information:
; QEMU multiboot puts its map at 0x9000 and information at 0x9500; GRUB uses
; 0x10000 and up; QEMU's PVH option ROM puts hvm_start_info at 0x21E0;
; Firecracker and Cloud Hypervisor put theirs at 0x6000 and the map at
; 0x7000; QEMU microvm's firmware uses the BIOS area (0xF3000).
TRAMP_BASE          equ 0xA000
TRAMP_MAX           equ 128
TRAMP_PARK_APIC     equ 0xB000
TRAMP_PARK_STATE    equ 0xB200
TRAMP_RELEASE_ENTRY equ 0xB400
TRAMP_RELEASE_RSP   equ 0xB800
TRAMP_RELEASE_ARG   equ 0xBC00
TRAMP_PARK_STACKS   equ 0xC000      ; up to 0xE000
PARK_STACK_SIZE     equ 64

%define T(label) (TRAMP_BASE + (label) - ap_trampoline_start)

global ap_trampoline_start
global ap_trampoline_end

section .rodata
align 16
bits 16
ap_trampoline_start:
    jmp short ap_real_mode
    align 8, db 0
slot_cr0:    dq 0
slot_cr3:    dq 0
slot_cr4:    dq 0
slot_efer:   dq 0
slot_ticket: dd 0
slot_taken:  dd 0

ap_real_mode:
    cli
    cld
    mov ax, cs
    mov ds, ax
    lgdt [ap_gdt_pointer - ap_trampoline_start]
    mov eax, [slot_cr4 - ap_trampoline_start]
    mov cr4, eax
    mov eax, [slot_cr3 - ap_trampoline_start]
    mov cr3, eax
    mov ecx, 0xC0000080
    mov eax, [slot_efer - ap_trampoline_start]
    mov edx, [slot_efer - ap_trampoline_start + 4]
    wrmsr
    mov eax, [slot_cr0 - ap_trampoline_start]
    mov cr0, eax                    ; PE and PG together: long mode
    jmp dword 0x08:T(ap_long_mode)

bits 64
ap_long_mode:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov eax, 1
    lock xadd dword [T(slot_ticket)], eax
    cmp eax, TRAMP_MAX
    jae ap_dead                     ; more cores than slots: stays off
    mov r12d, eax                   ; R12 = ticket (CPUID leaves it alone)

    ; APIC id: CPUID leaf 0Bh (x2APIC id, EDX) when it exists and reports
    ; a topology level, else the 8-bit initial id in 1:EBX[31:24].
    xor eax, eax
    cpuid
    cmp eax, 0x0B
    jb .xapic_id
    mov eax, 0x0B
    xor ecx, ecx
    cpuid
    test ebx, 0xFFFF
    jz .xapic_id
    mov r13d, edx
    jmp .have_id
.xapic_id:
    mov eax, 1
    cpuid
    shr ebx, 24
    mov r13d, ebx
.have_id:
    mov [TRAMP_PARK_APIC + r12 * 4], r13d
    mov rsp, r12
    inc rsp
    shl rsp, 6                      ; (ticket + 1) * PARK_STACK_SIZE
    add rsp, TRAMP_PARK_STACKS
    lidt [T(ap_park_idt_pointer)]
    mov byte [TRAMP_PARK_STATE + r12], 1
    lock inc dword [T(slot_taken)]
.park:
    hlt                             ; interrupts off: only NMI/INIT/SMI wake us
    jmp .park

; NMI while parked: go if released, else back to the park loop.
ap_park_nmi:
    mov rax, [TRAMP_RELEASE_ENTRY + r12 * 8]
    test rax, rax
    jz .not_yet
    mov rsp, [TRAMP_RELEASE_RSP + r12 * 8]
    mov rdi, [TRAMP_RELEASE_ARG + r12 * 8]
    xor ebp, ebp                    ; the AP's frame chain ends here
    push 0                          ; no return address: entry never returns
    jmp rax
.not_yet:
    iretq

ap_dead:
    cli
    hlt
    jmp ap_dead

align 16
ap_park_idt:                        ; vectors 0-2; only the NMI gate is present
    dq 0, 0
    dq 0, 0
    dw T(ap_park_nmi) & 0xFFFF      ; offset 15:0
    dw 0x08                         ; selector
    db 0                            ; IST
    db 0x8E                         ; present interrupt gate
    dw (T(ap_park_nmi) >> 16) & 0xFFFF
    dd 0                            ; offset 63:32
    dd 0
ap_park_idt_pointer:
    dw ap_park_idt_pointer - ap_park_idt - 1
    dq T(ap_park_idt)

ap_gdt:
    dq 0
    dq 0x00AF9A000000FFFF
    dq 0x00CF92000000FFFF
ap_gdt_pointer:
    dw ap_gdt_pointer - ap_gdt - 1
    dd T(ap_gdt)
ap_trampoline_end:

; void ap_wake_all(void) — called by the boot stub in long mode, before
; kernel_main. Copies the blob, fills the slots from this CPU's control
; registers, clears the park tables and sends INIT, STARTUP, STARTUP to all
; other CPUs. Returns at once; does nothing without a local APIC.
section .text
bits 64
global ap_wake_all
ap_wake_all:
    push rbx
    mov eax, 1
    cpuid
    test edx, 1 << 9                ; local APIC present?
    jz .done
    mov rsi, ap_trampoline_start
    mov rdi, TRAMP_BASE
    mov rcx, ap_trampoline_end - ap_trampoline_start
    rep movsb
    mov rdi, TRAMP_PARK_APIC
    xor eax, eax
    mov rcx, (TRAMP_PARK_STACKS - TRAMP_PARK_APIC) / 8
    rep stosq
    mov rax, cr0
    mov [TRAMP_BASE + 0x08], rax
    mov rax, cr3
    mov [TRAMP_BASE + 0x10], rax
    mov rax, cr4
    mov [TRAMP_BASE + 0x18], rax
    mov ecx, 0xC0000080
    rdmsr
    mov [TRAMP_BASE + 0x20], eax
    mov [TRAMP_BASE + 0x24], edx

    mov ecx, 0x1B                   ; IA32_APIC_BASE
    rdmsr
    test eax, 1 << 10               ; x2APIC already on (firmware)?
    jnz .x2apic
    and eax, 0xFFFFF000
    mov ebx, eax                    ; xAPIC MMIO base (below 4 GiB)
    mov dword [rbx + 0x310], 0
    mov dword [rbx + 0x300], 0x000C4500  ; INIT, assert, all excluding self
    call .wait_icr
    mov dword [rbx + 0x300], 0x000C4600 | (TRAMP_BASE >> 12)  ; STARTUP
    call .wait_icr
    mov dword [rbx + 0x300], 0x000C4600 | (TRAMP_BASE >> 12)  ; STARTUP again
    call .wait_icr
    jmp .done
.x2apic:
    mov ecx, 0x830                  ; x2APIC ICR
    xor edx, edx
    mov eax, 0x000C4500
    wrmsr
    mov eax, 0x000C4600 | (TRAMP_BASE >> 12)
    wrmsr
    wrmsr
.done:
    pop rbx
    ret
.wait_icr:                          ; delivery status clear, bounded
    mov ecx, 100000
.poll:
    test dword [rbx + 0x300], 1 << 12
    jz .sent
    pause
    dec ecx
    jnz .poll
.sent:
    ret
