# Writes a program's help as plain text, for `cmake --install` to put under share/doc (these are
# not man pages): `PROGRAM --help`, then the help of every subcommand CLI11 lists, depth first.
#   cmake -DPROGRAM=path/to/residue -DOUT=residue.txt -P help_text.cmake
cmake_minimum_required(VERSION 3.25)
get_filename_component(name "${PROGRAM}" NAME)

function(append_help)  # append_help [SUBCOMMAND...]
  set(words ${ARGN})
  execute_process(COMMAND "${PROGRAM}" ${words} --help OUTPUT_VARIABLE text
                  COMMAND_ERROR_IS_FATAL ANY)
  # Usage lines name the program as it was run: the build tree's path means nothing installed.
  string(REPLACE "${PROGRAM}" "${name}" text "${text}")
  list(JOIN words " " command)
  string(STRIP "${name} ${command}" title)
  file(APPEND "${OUT}" "==== ${title} --help\n\n${text}\n")
  # CLI11 lists subcommands under "Subcommands:", one per line, indented by two spaces.
  string(FIND "${text}" "\nSubcommands:\n" start)
  if(start EQUAL -1)
    return()
  endif()
  string(SUBSTRING "${text}" ${start} -1 listing)
  string(REGEX MATCHALL "\n  [a-z][a-z-]*" subcommands "${listing}")
  foreach(sub IN LISTS subcommands)
    string(STRIP "${sub}" sub)
    append_help(${words} ${sub})
  endforeach()
endfunction()

file(WRITE "${OUT}" "")
append_help()
