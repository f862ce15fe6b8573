/*
 * Files and findings counted apart, in the same words in every report
 * (docs/reports.md, "Counting"). A finding is about one file or about
 * the dataset ("4 of 3781 images are blurry"); a dataset-level finding
 * is not a file, and a file with several findings is one file. So each
 * report names two numbers where it used to give one count of findings:
 * the distinct files and the dataset-level findings. The text, Markdown
 * and HTML reports take their wording from here, so it cannot drift
 * between formats.
 */
#include "report/report.h"
#include "core/core.h"

static const char *plural(uint64_t n)
{
    return n == 1 ? "" : "s";
}

void ia_report_sev_line(char *buf, size_t cap, const uint64_t files[3],
                        const uint64_t dataset[3])
{
    ia_bprintf(buf, cap,
               "files with errors: %llu, with warnings: %llu, with info: "
               "%llu; dataset-level findings: %llu error%s, %llu warning%s, "
               "%llu info",
               (unsigned long long)files[IA_SEV_ERROR],
               (unsigned long long)files[IA_SEV_WARNING],
               (unsigned long long)files[IA_SEV_INFO],
               (unsigned long long)dataset[IA_SEV_ERROR],
               plural(dataset[IA_SEV_ERROR]),
               (unsigned long long)dataset[IA_SEV_WARNING],
               plural(dataset[IA_SEV_WARNING]),
               (unsigned long long)dataset[IA_SEV_INFO]);
}

void ia_report_code_line(char *buf, size_t cap, uint64_t files,
                         uint64_t dataset)
{
    ia_bprintf(buf, cap, "%llu file%s, %llu dataset-level",
               (unsigned long long)files, plural(files),
               (unsigned long long)dataset);
}
