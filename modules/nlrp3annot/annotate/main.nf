// nlrp3annot annotate, one sample's VCF at a time, in the style of an nf-core module.
// It is the per-sample annotate of `nlrp3annot run`; `nlrp3annot compare --annotations`
// over every sample's calls + patients tables (the VCFs staged beside them) writes the
// rest of run's results folder (see workflow/README.md, "Nextflow").
// No bioconda package or biocontainer of nlrp3annot exists yet: `nlrp3annot` must be on
// the PATH of the task (an environment or a container you build with `pip install .`).
process NLRP3ANNOT_ANNOTATE {
    tag "$meta.id"
    label 'process_single'

    input:
    tuple val(meta), path(vcf), path(tbi)
    tuple val(meta2), path(fasta), path(fai), path(gzi)

    output:
    tuple val(meta), path("*.calls.tsv")   , emit: calls
    tuple val(meta), path("*.patients.tsv"), emit: patients
    tuple val(meta), path("*.skipped.tsv") , emit: skipped
    path "versions.yml"                    , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args   = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    nlrp3annot annotate \\
        ${vcf} \\
        --fasta ${fasta} \\
        --jobs ${task.cpus} \\
        --output ${prefix}.calls.tsv \\
        --patients ${prefix}.patients.tsv \\
        --skipped ${prefix}.calls.skipped.tsv \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        nlrp3annot: \$(nlrp3annot --version 2>&1 | sed 's/^nlrp3annot //')
    END_VERSIONS
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.calls.tsv
    touch ${prefix}.patients.tsv
    touch ${prefix}.calls.skipped.tsv

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        nlrp3annot: \$(nlrp3annot --version 2>&1 | sed 's/^nlrp3annot //')
    END_VERSIONS
    """
}
