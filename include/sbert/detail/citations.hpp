// SPDX-License-Identifier: Apache-2.0
// BibTeX entries used in more than one place (the model card and several losses cite the same
// paper; the card lists a citation once when the texts are equal, so they must not drift apart).
// Torch-free.
#pragma once
#include <string_view>

namespace sbert::detail {

/// Sentence-BERT (Reimers & Gurevych, 2019): the library's own citation, and SoftmaxLoss's.
inline constexpr std::string_view sentence_bert_bibtex = R"bib(@inproceedings{reimers-2019-sentence-bert,
    title = "Sentence-BERT: Sentence Embeddings using Siamese BERT-Networks",
    author = "Reimers, Nils and Gurevych, Iryna",
    booktitle = "Proceedings of the 2019 Conference on Empirical Methods in Natural Language Processing",
    month = "11",
    year = "2019",
    publisher = "Association for Computational Linguistics",
    url = "https://arxiv.org/abs/1908.10084",
})bib";

/// Hermans et al. 2017: TripletLoss and the four batch-mining triplet losses.
inline constexpr std::string_view triplet_bibtex = R"bib(@misc{hermans2017defense,
    title={In Defense of the Triplet Loss for Person Re-Identification},
    author={Alexander Hermans and Lucas Beyer and Bastian Leibe},
    year={2017},
    eprint={1703.07737},
    archivePrefix={arXiv},
    primaryClass={cs.CV}
})bib";

/// Carlsson et al. 2021: both ContrastiveTension losses.
inline constexpr std::string_view contrastive_tension_bibtex = R"bib(@inproceedings{carlsson2021semantic,
    title={Semantic Re-tuning with Contrastive Tension},
    author={Fredrik Carlsson and Amaru Cuba Gyllensten and Evangelia Gogoulou and Erik Ylip{"a}{"a} Hellqvist and Magnus Sahlgren},
    booktitle={International Conference on Learning Representations},
    year={2021},
    url={https://openreview.net/forum?id=Ov_sMNau-PF}
})bib";

}  // namespace sbert::detail
