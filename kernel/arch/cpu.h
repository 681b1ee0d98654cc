/*
 * kernel/arch/cpu.h — the one C header with x86-64 instructions in it.
 *
 * Every inline asm, port access, MSR and control-register access outside
 * boot/ and drivers/ goes through these cpu_* wrappers (docs/contributing.md, Layers), so
 * the rest of the kernel stays plain C. tests/system/test_tree.py lists the
 * files allowed to contain asm.
 */
#ifndef ZEBU_ARCH_CPU_H
#define ZEBU_ARCH_CPU_H

#include <stdint.h>

struct cpuid_regs {
    uint32_t eax, ebx, ecx, edx;
};

static inline void cpu_cpuid(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r)
{
    __asm__ volatile("cpuid"
                     : "=a"(r->eax), "=b"(r->ebx), "=c"(r->ecx), "=d"(r->edx)
                     : "a"(leaf), "c"(subleaf));
}

static inline uint64_t cpu_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline void cpu_outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t cpu_inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void cpu_outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint16_t cpu_inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void cpu_outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint32_t cpu_inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint64_t cpu_rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline void cpu_wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

#define CPU_READ_CR(n)                                                                             \
    static inline uint64_t cpu_read_cr##n(void)                                                    \
    {                                                                                              \
        uint64_t v;                                                                                \
        __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                                          \
        return v;                                                                                  \
    }
CPU_READ_CR(0)
CPU_READ_CR(2)
CPU_READ_CR(3)
CPU_READ_CR(4)
#undef CPU_READ_CR

static inline void cpu_write_cr3(uint64_t v)
{
    __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline void cpu_invlpg(const void *va)
{
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static inline uint64_t cpu_read_rbp(void)
{
    uint64_t v;
    __asm__ volatile("mov %%rbp, %0" : "=r"(v));
    return v;
}

static inline uint64_t cpu_read_rflags(void)
{
    uint64_t v;
    __asm__ volatile("pushfq; popq %0" : "=r"(v));
    return v;
}

static inline void cpu_irq_disable(void)
{
    __asm__ volatile("cli" : : : "memory");
}

static inline void cpu_irq_enable(void)
{
    __asm__ volatile("sti" : : : "memory");
}

/* Halt until the next interrupt; with interrupts off, for good. */
static inline void cpu_halt(void)
{
    __asm__ volatile("hlt" : : : "memory");
}

static inline void cpu_relax(void)
{
    __asm__ volatile("pause" : : : "memory");
}

struct cpu_table_pointer {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

static inline void cpu_lidt(const struct cpu_table_pointer *p)
{
    __asm__ volatile("lidt %0" : : "m"(*p));
}

static inline void cpu_lgdt(const struct cpu_table_pointer *p)
{
    __asm__ volatile("lgdt %0" : : "m"(*p));
}

static inline void cpu_ltr(uint16_t selector)
{
    __asm__ volatile("ltr %0" : : "r"(selector));
}

/* Enables interrupts and halts as one step: STI's one-instruction shadow
 * means an interrupt pending at the STI is taken after HLT starts, so a
 * wake-up IPI cannot slip in between a check and the halt. */
static inline void cpu_irq_enable_and_halt(void)
{
    __asm__ volatile("sti; hlt" : : : "memory");
}

static inline int cpu_irq_enabled(void)
{
    return (cpu_read_rflags() & (1u << 9)) != 0;
}

/* The per-core pointer kept at %gs:0 (kernel/percpu.h). */
static inline void *cpu_gs_self(void)
{
    void *p;
    __asm__ volatile("mov %%gs:0, %0" : "=r"(p));
    return p;
}

#define MSR_GS_BASE        0xC0000101
#define MSR_APIC_BASE      0x1B
#define MSR_TSC_DEADLINE   0x6E0
#define MSR_X2APIC_BASE    0x800

/* RDRAND / RDSEED: 1 with a random value in *v, 0 when the CPU had none
 * ready (carry clear; the caller retries, see kernel/random.c). Only where
 * CPUID says the instruction exists. */
static inline int cpu_rdrand64(uint64_t *v)
{
    unsigned char ok;
    __asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok) : : "cc");
    return ok;
}

static inline int cpu_rdseed64(uint64_t *v)
{
    unsigned char ok;
    __asm__ volatile("rdseed %0; setc %1" : "=r"(*v), "=qm"(ok) : : "cc");
    return ok;
}

/* CPUID feature bits the kernel asks about. */
#define CPUID_1_ECX_X2APIC      (1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_RDRAND     (1u << 30)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_7_EBX_RDSEED     (1u << 18)
#define CPUID_1_EDX_TSC        (1u << 4)
#define CPUID_81_EDX_NX        (1u << 20)
#define CPUID_81_EDX_PAGE1G    (1u << 26)

/* Executes an undefined instruction (#UD). */
static inline void cpu_ud2(void)
{
    __asm__ volatile("ud2");
}

#endif
