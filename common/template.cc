#include "common/template.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>

#include "common/text.h"

namespace horde {

namespace {

using text::quote;

bool is_identifier(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    const size_t from = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > from) out.push_back(s.substr(from, i - from));
  }
  return out;
}

bool parse_int(std::string_view s, int64_t* out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc{} && end == s.data() + s.size() && !s.empty();
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::string shown(std::string_view inner) { return "{{" + std::string(inner) + "}}"; }

Error unknown(std::string_view inner) {
  return Error{"unknown template " + quote(shown(inner)) + "; expected " + kTemplateNames};
}

// A protobuf group's opening or closing ({{#len}} ... {{/}}), or kLiteral.
TemplateFn group_fn(std::string_view fn) {
  if (fn == "#len") return TemplateFn::kLenBegin;
  if (fn == "#varint") return TemplateFn::kVarintBegin;
  if (fn == "#zigzag") return TemplateFn::kZigzagBegin;
  if (fn == "#frame") return TemplateFn::kFrameBegin;
  if (fn == "/") return TemplateFn::kEnd;
  return TemplateFn::kLiteral;
}

// One `{{...}}`'s content (between the braces, spaces kept) into `t`; `depth`
// counts the protobuf groups open.
Result<bool> parse_slot(std::string_view inner, TemplateSyntax syntax, size_t* depth, Template* t) {
  const auto w = words(inner);
  if (w.empty()) return unknown(inner);
  TemplatePiece p;
  const std::string_view fn = w[0];
  if (const TemplateFn g = group_fn(fn);
      syntax == TemplateSyntax::kProtobuf && w.size() == 1 && g != TemplateFn::kLiteral) {
    if (g == TemplateFn::kEnd) {
      if (*depth == 0) return Error{"{{/}} closes no group"};
      --*depth;
    } else if (++*depth > kMaxTemplateDepth) {
      return Error{"protobuf groups nest deeper than " + std::to_string(kMaxTemplateDepth)};
    }
    p.fn = g;
  } else if (fn == "uuid" || fn == "seq" || fn == "now_ms" || fn == "agent") {
    if (w.size() != 1) {
      return Error{quote(shown(inner)) + ": " + std::string(fn) + " takes no arguments; write {{" +
                   std::string(fn) + "}}"};
    }
    p.fn = fn == "uuid"     ? TemplateFn::kUuid
           : fn == "seq"    ? TemplateFn::kSeq
           : fn == "now_ms" ? TemplateFn::kNowMs
                            : TemplateFn::kAgent;
  } else if (fn == "random") {
    int64_t lo = 0;
    int64_t hi = 0;
    const std::string expected =
        "; expected {{random A B}} with integers A <= B (inclusive) within "
        "+-2^62, like {{random 1 1000}}";
    if (w.size() != 3 || !parse_int(w[1], &lo) || !parse_int(w[2], &hi)) {
      return Error{quote(shown(inner)) + expected};
    }
    if (lo > hi || lo < -kMaxTemplateRandom || hi > kMaxTemplateRandom) {
      return Error{quote(shown(inner)) + expected};
    }
    p.fn = TemplateFn::kRandom;
    p.lo = lo;
    // In unsigned arithmetic: hi - lo reaches 2^63, one past int64_t (UBSan).
    p.span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
  } else if (w.size() == 1 && fn.find('.') != std::string_view::npos) {
    const size_t dot = fn.find('.');
    const std::string_view set = fn.substr(0, dot);
    const std::string_view column = fn.substr(dot + 1);
    if (!is_identifier(set) || !is_identifier(column)) {
      return Error{quote(shown(inner)) +
                   ": expected {{DATA.COLUMN}}: a data set's name and one of its columns, each "
                   "letters, digits, _ or -"};
    }
    p.fn = TemplateFn::kData;
    p.set = std::string(set);
    p.column = std::string(column);
  } else {
    return unknown(inner);
  }
  if (t->pieces.size() >= 2 * kMaxTemplateSlots) {
    return Error{"more than " + std::to_string(kMaxTemplateSlots) + " {{...}} in one field"};
  }
  t->pieces.push_back(std::move(p));
  return true;
}

}  // namespace

bool Template::is_static() const {
  return std::all_of(pieces.begin(), pieces.end(),
                     [](const TemplatePiece& p) { return p.fn == TemplateFn::kLiteral; });
}

void Template::append_literal(std::string_view s) {
  if (s.empty()) return;
  if (!pieces.empty() && pieces.back().fn == TemplateFn::kLiteral &&
      pieces.back().begin + pieces.back().size == text.size()) {
    pieces.back().size += static_cast<uint32_t>(s.size());
  } else {
    TemplatePiece p;
    p.begin = static_cast<uint32_t>(text.size());
    p.size = static_cast<uint32_t>(s.size());
    pieces.push_back(p);
  }
  text.append(s);
}

void Template::append(const Template& t) {
  for (const TemplatePiece& p : t.pieces) {
    if (p.fn == TemplateFn::kLiteral) {
      append_literal(std::string_view(t.text).substr(p.begin, p.size));
    } else {
      pieces.push_back(p);
    }
  }
}

Result<Template> parse_template(std::string_view s, TemplateSyntax syntax) {
  Template t;
  size_t depth = 0;
  size_t i = 0;
  while (i < s.size()) {
    const size_t open = s.find("{{", i);
    if (open == std::string_view::npos) {
      t.append_literal(s.substr(i));
      break;
    }
    t.append_literal(s.substr(i, open - i));
    size_t j = open + 2;
    while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
    const std::string unclosed = "unclosed {{ at byte " + std::to_string(open) +
                                 "; close it with }}, or write {{\"{{\"}} for a literal {{";
    if (j < s.size() && s[j] == '"') {
      // {{"text"}}: the text as it is (the escape for a literal {{).
      const size_t quote_end = s.find('"', j + 1);
      if (quote_end == std::string_view::npos) return Error{unclosed};
      size_t k = quote_end + 1;
      while (k < s.size() && (s[k] == ' ' || s[k] == '\t')) ++k;
      if (s.substr(k, 2) != "}}") {
        return Error{"a quoted literal {{\"...\"}} at byte " + std::to_string(open) +
                     " must end with \"}}; write {{\"{{\"}} for a literal {{"};
      }
      t.append_literal(s.substr(j + 1, quote_end - j - 1));
      i = k + 2;
      continue;
    }
    const size_t close = s.find("}}", open + 2);
    if (close == std::string_view::npos) return Error{unclosed};
    if (auto ok = parse_slot(s.substr(open + 2, close - open - 2), syntax, &depth, &t); !ok) {
      return ok.error();
    }
    i = close + 2;
  }
  if (depth != 0) return Error{std::to_string(depth) + " protobuf group(s) not closed by {{/}}"};
  return t;
}

std::vector<bool> integer_pieces(const Template& t) {
  std::vector<bool> out(t.pieces.size(), false);
  std::vector<bool> open;  // per group open: an integer group?
  size_t integers = 0;
  for (size_t i = 0; i < t.pieces.size(); ++i) {
    const TemplateFn fn = t.pieces[i].fn;
    if (fn == TemplateFn::kEnd) {
      if (!open.empty()) {
        integers -= open.back() ? 1 : 0;
        open.pop_back();
      }
      continue;
    }
    if (fn == TemplateFn::kLenBegin || fn == TemplateFn::kFrameBegin ||
        fn == TemplateFn::kVarintBegin || fn == TemplateFn::kZigzagBegin) {
      const bool integer = fn == TemplateFn::kVarintBegin || fn == TemplateFn::kZigzagBegin;
      open.push_back(integer);
      integers += integer ? 1 : 0;
      continue;
    }
    out[i] = integers > 0;
  }
  return out;
}

std::string escape_template(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (true) {
    const size_t open = bytes.find("{{", i);
    if (open == std::string_view::npos) break;
    out.append(bytes.substr(i, open - i));
    out.append("{{\"{{\"}}");
    i = open + 2;
  }
  out.append(bytes.substr(i));
  return out;
}

Result<bool> bind_template(Template& t, const std::vector<DataColumns>& sets) {
  for (TemplatePiece& p : t.pieces) {
    if (p.fn != TemplateFn::kData) continue;
    const auto set = std::find_if(sets.begin(), sets.end(),
                                  [&](const DataColumns& d) { return d.name == p.set; });
    const std::string slot = quote("{{" + p.set + "." + p.column + "}}");
    if (set == sets.end()) {
      std::vector<std::string> names;
      for (const auto& d : sets) names.push_back(d.name);
      return Error{slot + ": no data set named " + quote(p.set) +
                   (names.empty() ? std::string("; declare it under data: (data: {" + p.set +
                                                ": {file: " + p.set + ".csv}})")
                                  : "; the data sets are " + join_names(names))};
    }
    const auto column = std::find(set->columns.begin(), set->columns.end(), p.column);
    if (column == set->columns.end()) {
      return Error{slot + ": data set " + quote(p.set) + " has no column " + quote(p.column) +
                   "; its columns are " + join_names(set->columns)};
    }
    p.set_index = static_cast<uint16_t>(set - sets.begin());
    p.column_index = static_cast<uint16_t>(column - set->columns.begin());
  }
  return true;
}

}  // namespace horde
